import { DefaultLogger, LoggerNamespace } from '@mikro-orm/core';
import { defineConfig } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { ENTITIES } from './entities';
import { migrationOptions } from './migration-options';

/**
 * The driver's warnings (one per pooled connection a PostgreSQL restart cuts) go to the app's log, debug or not,
 * never to stdout through console.log; queries are logged (to the console) only with `debug`.
 */
class DatabaseLogger extends DefaultLogger {
  private readonly app = new Logger('Database');

  override warn(_namespace: LoggerNamespace, message: string): void {
    this.app.warn(message);
  }

  override error(_namespace: LoggerNamespace, message: string): void {
    this.app.error(message);
  }
}

export function mikroOrmOptions(databaseUrl: string, overrides: { debug?: boolean; poolMax?: number } = {}) {
  return defineConfig({
    ...migrationOptions(databaseUrl),
    // Listed (never globbed); types are declared on every property, so discovery never relies on emitted metadata.
    entities: ENTITIES,
    forceUtcTimezone: true,
    // Relations load with joins, as they always have here (the ORM's default now loads to-many ones apart).
    loadStrategy: 'joined',
    debug: overrides.debug ?? false,
    loggerFactory: (options) => new DatabaseLogger(options),
    pool: { min: 0, max: overrides.poolMax ?? 10 },
    allowGlobalContext: false,
  });
}
