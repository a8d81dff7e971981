import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

type ThrottleCommand = (
  hitKey: string,
  blockKey: string,
  throttlerName: string,
  ttl: number,
  limit: number,
  blockDuration: number,
) => Promise<[number, number, number, number]>;

const COMMAND = 'pdThrottle';

/**
 * The Redis throttler storage, sending its script by hash (EVALSHA through ioredis's defineCommand, which falls
 * back to EVAL once after a Redis restart) instead of the whole script on every request: the limiter runs on
 * every request, public share views included, and Redis no longer re-hashes the script each time.
 */
export class RedisThrottlerStorage extends ThrottlerStorageRedisService {
  private readonly throttle: ThrottleCommand;

  constructor(client: Redis) {
    super(client);
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { numberOfKeys: 2, lua: this.scriptSrc });
    this.throttle = (client as unknown as Record<string, ThrottleCommand>)[COMMAND].bind(client);
  }

  override async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = await this.throttle(
      `{${key}:${throttlerName}}:hits`,
      `{${key}:${throttlerName}}:blocked`,
      throttlerName,
      ttl,
      limit,
      blockDuration,
    );
    return {
      totalHits,
      timeToExpire: Math.ceil(timeToExpire / 1000),
      isBlocked: isBlocked === 1,
      timeToBlockExpire: Math.ceil(timeToBlockExpire / 1000),
    };
  }
}
