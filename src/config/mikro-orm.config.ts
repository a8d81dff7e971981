import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { ENTITIES } from '../database/entities';
import { MIGRATIONS } from '../database/migrations';

export function mikroOrmOptions(databaseUrl: string, overrides: { debug?: boolean; poolMax?: number } = {}) {
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    // Types are declared on every property, so discovery never relies on emitted decorator metadata.
    discovery: { requireEntitiesArray: true },
    forceUtcTimezone: true,
    debug: overrides.debug ?? false,
    pool: { min: 0, max: overrides.poolMax ?? 10 },
    allowGlobalContext: false,
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
  });
}
