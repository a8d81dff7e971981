import { defineConfig } from '@mikro-orm/postgresql';
import { ENTITIES } from '../database/entities';
import { migrationOptions } from '../database/migration-options';

export function mikroOrmOptions(databaseUrl: string, overrides: { debug?: boolean; poolMax?: number } = {}) {
  return defineConfig({
    ...migrationOptions(databaseUrl),
    entities: ENTITIES,
    // Types are declared on every property, so discovery never relies on emitted decorator metadata.
    discovery: { requireEntitiesArray: true },
    forceUtcTimezone: true,
    debug: overrides.debug ?? false,
    pool: { min: 0, max: overrides.poolMax ?? 10 },
    allowGlobalContext: false,
  });
}
