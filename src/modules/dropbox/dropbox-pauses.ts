import type { RedisService } from '../../common/redis/redis.module';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The pauses this process is recording, by Redis key → deadline (epoch ms). Set synchronously the moment a 429 is
 * read, before the Redis write goes out: a call of this process whose Redis check answered just before that write
 * landed still sees the pause in the same turn it would have been sent in. Once Redis holds the pause it is the only
 * record again (every later check reads it there; deleting the key lifts the pause everywhere).
 */
const recordedHere = new Map<string, number>();

function localDeadline(key: string): number {
  const until = recordedHere.get(key) ?? 0;
  if (until && until <= Date.now()) recordedHere.delete(key);
  return until;
}

/**
 * Waiters wake a little after the deadline, spread out: calls queued behind a pause would otherwise all be sent in
 * the same millisecond, and one of them meeting the next 429 would leave the rest already on their way.
 */
function spread(remainingMs: number): number {
  return Math.random() * Math.min(500, remainingMs * 0.2);
}

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

  /**
   * Records the pause here at once (synchronously, before the first await) and then in Redis for every process; the
   * caller awaits this before its call returns, so the next call of this account — queued or retried — waits.
   */
  private async extend(key: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    if (until > localDeadline(key)) recordedHere.set(key, until);
    // Keep the latest deadline if several 429s arrive together.
    await this.redis.client.eval(
      `local cur = tonumber(redis.call('get', KEYS[1]) or '0') if tonumber(ARGV[1]) > cur then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 1`,
      1,
      key,
      String(until),
      String(ms),
    );
    if (recordedHere.get(key) === until) recordedHere.delete(key);
  }

  private async until(keys: string[]): Promise<number> {
    const values = await this.redis.client.mget(...keys);
    // Read after Redis answered, in the turn the call is then sent in: a 429 this process read meanwhile counts.
    return Math.max(0, ...values.map((value) => Number(value) || 0), ...keys.map(localDeadline));
  }

  private async waitFor(keys: string[]): Promise<void> {
    // Check again after sleeping: a 429 that arrived meanwhile (from a call already in flight) extends the pause.
    for (;;) {
      const until = await this.until(keys);
      if (!(until > Date.now())) return;
      const remaining = until - Date.now();
      await sleep(remaining + spread(remaining));
    }
  }
}
