import type { MikroORM } from '@mikro-orm/core';

/**
 * Calls `listener` with every SQL statement the ORM sends, until the returned function is called. Uses the ORM's
 * `onQuery` hook, which every statement goes through, and keeps the hook that was there.
 */
export function watchSqlStatements(orm: Pick<MikroORM, 'config'>, listener: (sql: string) => void): () => void {
  const previous = orm.config.get('onQuery');
  orm.config.set('onQuery', (sql, params) => {
    listener(sql);
    return previous(sql, params);
  });
  return () => orm.config.set('onQuery', previous);
}
