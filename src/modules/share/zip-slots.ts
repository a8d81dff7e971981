import { HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import { ShareTuning } from './share-tuning';

/** A slot held by a crashed process frees itself after this long (live holders renew it). */
const LEASE_MS = 30_000;
const RENEW_MS = 10_000;
const RETRY_AFTER_SECONDS = 30;

/** Takes a slot in a share's set when fewer than `limit` live ones are held; 1 when taken. */
const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/** Too many ZIPs are being built: answered 503 with Retry-After (see SharePublicFilter). */
export class ZipsBusyException extends HttpException {
  constructor(scope: 'share' | 'server') {
    super(
      {
        message:
          scope === 'share'
            ? 'Several downloads of this share are being prepared right now. Please try again in a minute.'
            : 'The server is preparing many downloads right now. Please try again in a minute.',
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/**
 * A ZIP costs a Dropbox download per entry and a stream held open for minutes, for one anonymous request. Builds
 * are bounded per process (memory) and per share across every process (a Redis set of leased slots, renewed while
 * the build runs and expiring if its process dies); beyond either, 503 with Retry-After.
 */
@Injectable()
export class ZipSlots {
  private running = 0;

  constructor(
    private readonly redis: RedisService,
    private readonly tuning: ShareTuning,
  ) {
    if (!('pdTakeZipSlot' in redis.client)) redis.client.defineCommand('pdTakeZipSlot', { numberOfKeys: 1, lua: TAKE });
  }

  /** ZIPs this process is building now. */
  get inProgress(): number {
    return this.running;
  }

  /** Takes a slot or throws ZipsBusyException; the returned function gives it back (call it exactly once). */
  async acquire(shareId: string): Promise<() => Promise<void>> {
    if (this.running >= this.tuning.zipsPerProcess) throw new ZipsBusyException('server');
    this.running += 1;
    const key = this.redis.key('share', 'zips', shareId);
    const member = randomBytes(9).toString('base64url');
    let taken: number;
    try {
      const take = (
        this.redis.client as unknown as Record<string, (...args: Array<string | number>) => Promise<number>>
      ).pdTakeZipSlot;
      const now = Date.now();
      taken = await take.call(
        this.redis.client,
        key,
        now,
        now + LEASE_MS,
        member,
        this.tuning.zipsPerShare,
        LEASE_MS * 2,
      );
    } catch (err) {
      this.running -= 1;
      throw err;
    }
    if (taken !== 1) {
      this.running -= 1;
      throw new ZipsBusyException('share');
    }
    const renew = setInterval(() => {
      void this.redis.client.zadd(key, 'XX', Date.now() + LEASE_MS, member).catch(() => undefined);
    }, RENEW_MS);
    renew.unref();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      this.running -= 1;
      await this.redis.client.zrem(key, member).catch(() => undefined);
    };
  }
}
