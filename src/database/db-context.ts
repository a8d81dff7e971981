import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';

/**
 * The one way a module opens a database context outside an HTTP request (a job, a timer, a stream that outlives its
 * request) and runs a unit of work in a transaction. Modules never hold the EntityManager: they use their own
 * repositories (MikroOrmModule.forFeature), which find the context this opens — the request's, the job's or the
 * transaction's — by themselves.
 */
@Injectable()
export class DbContext {
  constructor(private readonly orm: MikroORM) {}

  /**
   * Runs `work` with an identity map of its own: what it loads is not shared with the caller or with other jobs, and
   * is dropped when it ends. Used by every job and by reads that must see the database as it is now.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    return RequestContext.create(this.orm.em, work);
  }

  /**
   * Runs `work` in one transaction (inside the current context, or in a new one when there is none): the
   * repositories it calls take part; it commits when `work` resolves (flushing what it changed) and rolls back when
   * it throws.
   */
  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.orm.em.transactional(() => work());
  }

  /**
   * A transaction in a context of its own: the rows it reads (and locks) are read as they are now, never answered
   * from what the caller's context loaded before — MikroORM merges a fresh read into an entity already in the
   * identity map without overwriting what was changed in memory — and what it loads is dropped when it ends. For work
   * that reads the same rows again and again while other processes change them (a collaboration pipeline's job).
   */
  freshTransaction<T>(work: () => Promise<T>): Promise<T> {
    return this.run(() => this.transaction(work));
  }

  /** Adds an entity the current context didn't create to what its next flush writes. */
  persist(entity: object): void {
    this.orm.em.persist(entity);
  }

  /** Marks an entity of the current context for deletion at its next flush. */
  remove(entity: object): void {
    this.orm.em.remove(entity);
  }

  /** Forgets what the current context loaded (after a write that changed rows behind it, so they are read again). */
  clear(): void {
    this.orm.em.clear();
  }

  /** Writes what the current context changed (entities created, edited or removed through the repositories). */
  flush(): Promise<void> {
    return this.orm.em.flush();
  }
}

@Global()
@Module({ providers: [DbContext], exports: [DbContext] })
export class DatabaseModule implements OnModuleInit {
  constructor(private readonly orm: MikroORM) {}

  /** Connects at start (the ORM would on the first query): readiness reports the database from the first probe. */
  async onModuleInit(): Promise<void> {
    await this.orm.connect();
  }
}
