import { MikroORM } from '@mikro-orm/postgresql';
import { migrationOptions } from './migration-options';

/** Applies pending migrations; returns the names applied. Used by `npm run migrate`, the demo and the tests. */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init({
    ...migrationOptions(databaseUrl),
    logger: () => undefined,
  });
  try {
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

async function main(): Promise<void> {
  // Only the database URL matters here, but validating the whole config keeps one source of truth.
  const { loadConfigOrExit } = await import('../config/app-config');
  const config = loadConfigOrExit();
  const applied = await runMigrations(config.database.url);
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
