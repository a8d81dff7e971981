import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { RedisService } from '../redis/redis.module';

/** 404s for paths no route matches, per client address per minute, before they turn into 429s. */
export const NOT_FOUND_PER_MINUTE = 120;
const WINDOW_MS = 60_000;

/**
 * Routes carry their own rate limits (ThrottlerGuard), but a path no route matches never reaches a guard: a client
 * could ask for unknown paths as fast as it liked. Each of those 404s counts here, per address, in a key that lives
 * one minute; past the limit the answer is 429 with Retry-After.
 */
@Injectable()
export class NotFoundLimiter {
  limit = NOT_FOUND_PER_MINUTE;

  constructor(private readonly redis: RedisService) {}

  /** Seconds to wait when this 404 is over the limit, else null. */
  async hit(req: Request): Promise<number | null> {
    const key = this.redis.key('throttle', 'not-found', req.ip ?? 'unknown');
    const replies = (await this.redis.client.multi().incr(key).pexpire(key, WINDOW_MS, 'NX').pttl(key).exec()) ?? [];
    const count = Number(replies[0]?.[1] ?? 0);
    const ttl = Number(replies[2]?.[1] ?? WINDOW_MS);
    return count > this.limit ? Math.max(1, Math.ceil(ttl / 1000)) : null;
  }
}
