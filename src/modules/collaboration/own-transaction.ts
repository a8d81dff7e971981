import type { DbContext } from '../../database/db-context';

/**
 * A transaction in a database context of its own, as every change to a pipeline runs: the rows it locks are read as
 * they are now, never answered from what the caller's context loaded before (a job reads its pipeline again and
 * again while other processes change it), and what it loads is dropped when it ends.
 */
export function ownTransaction<T>(db: DbContext, work: () => Promise<T>): Promise<T> {
  return db.run(() => db.transaction(work));
}
