import { MikroORM } from '@mikro-orm/postgresql';
import { SecretBox } from '../common/crypto/secret-box';
import { migrationOptions } from './migration-options';
import { sealLegacyShareTokens } from './seal-share-tokens';

/**
 * Applies pending migrations; returns the names applied. Used by `npm run migrate`, the demo and the tests.
 * With the encryption keys, also runs the data steps that need them (sealing share tokens kept in clear).
 */
export async function runMigrations(
  databaseUrl: string,
  keys?: { key: Buffer; previousKey?: Buffer },
): Promise<string[]> {
  const orm = await MikroORM.init({
    ...migrationOptions(databaseUrl),
    logger: () => undefined,
  });
  try {
    const applied = await orm.migrator.up();
    if (keys) await sealLegacyShareTokens(orm.em.fork(), new SecretBox(keys.key, keys.previousKey));
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

async function main(): Promise<void> {
  // The database URL and, for the data steps, the encryption keys; validating the whole config keeps one source of truth.
  const { loadConfigOrExit } = await import('../config/app-config.js');
  const config = loadConfigOrExit();
  const applied = await runMigrations(config.database.url, config.encryption);
  process.stdout.write(
    applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database is up to date.\n',
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`Migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
