import type { RedisService } from '../../common/redis/redis.module';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The account's own namespace (its home); shared folders are namespaces of their own, named by their id. */
export const HOME_NAMESPACE = 'home';

/**
 * Retry-After, honoured by every process of an account, at two scopes. Dropbox locks writes per namespace, so a
 * write refused for lock contention (`too_many_write_operations`, a collaborator's desktop client writing into the
 * shared folder…) pauses writes to that namespace only: reads — share pages, plays, downloads — and writes elsewhere
 * go on. A rate limit on the account itself (`too_many_requests`, or any 429 to a read) pauses all its calls.
 */
export class DropboxPauses {
  constructor(
    private readonly redis: RedisService,
    private readonly accountId: string,
  ) {}

  private accountKey(): string {
    return this.redis.key('dbx', 'pause', this.accountId);
  }

  private writesKey(namespace: string): string {
    return this.redis.key('dbx', 'pause-writes', this.accountId, namespace);
  }

  pauseAccount(ms: number): Promise<void> {
    return this.extend(this.accountKey(), ms);
  }

  pauseWrites(namespace: string, ms: number): Promise<void> {
    return this.extend(this.writesKey(namespace), ms);
  }

  /** Until the account may be called again (reads wait for nothing else). */
  async waitForAccount(): Promise<void> {
    await this.waitFor([this.accountKey()]);
  }

  /** Until a write into `namespace` may be sent. */
  async waitForWrites(namespace: string): Promise<void> {
    await this.waitFor([this.accountKey(), this.writesKey(namespace)]);
  }

  /** Whether writes into `namespace` are paused right now (checked again once the write slot is held). */
  async writesPaused(namespace: string): Promise<boolean> {
    return (await this.until([this.accountKey(), this.writesKey(namespace)])) > Date.now();
  }

  private async extend(key: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    // Keep the latest deadline if several 429s arrive together.
    await this.redis.client.eval(
      `local cur = tonumber(redis.call('get', KEYS[1]) or '0') if tonumber(ARGV[1]) > cur then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 1`,
      1,
      key,
      String(until),
      String(ms),
    );
  }

  private async until(keys: string[]): Promise<number> {
    const values = await this.redis.client.mget(...keys);
    return Math.max(0, ...values.map((value) => Number(value) || 0));
  }

  private async waitFor(keys: string[]): Promise<void> {
    // Check again after sleeping: a 429 that arrived meanwhile (from a call already in flight) extends the pause.
    for (;;) {
      const until = await this.until(keys);
      if (!(until > Date.now())) return;
      await sleep(until - Date.now());
    }
  }
}
