import { defineConfig } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { ENTITIES } from './entities';
import { migrationOptions } from './migration-options';

/** knex writes its own warnings with console.log (one per pooled connection a PostgreSQL restart cuts): to the app's log. */
function knexLog() {
  const logger = new Logger('Database');
  return {
    warn: (message: string) => logger.warn(message),
    error: (message: string) => logger.error(message),
    deprecate: (method: string, alternative: string) => logger.warn(`${method} is deprecated, use ${alternative}`),
    debug: (message: string) => logger.debug(message),
  };
}

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
    driverOptions: { log: knexLog() },
  });
}
