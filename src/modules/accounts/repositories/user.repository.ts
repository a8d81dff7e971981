import { EntityRepository } from '@mikro-orm/postgresql';
import type { User } from '../entities/user.entity';

export class UserRepository extends EntityRepository<User> {
  /**
   * Holds the first-run setup lock until the current transaction ends, so two concurrent setup submissions run one
   * after the other (a transaction-level advisory lock: it needs no row, and none exists yet).
   */
  async lockFirstRunSetup(): Promise<void> {
    await this.em.execute('select pg_advisory_xact_lock(hashtext(?))', ['producer-dashboard:first-run-setup']);
  }
}
