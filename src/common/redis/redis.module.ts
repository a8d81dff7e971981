import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { describeRedis, redisTarget } from './redis-options';

/**
 * What the connected Redis does at its memory ceiling. Anything but `noeviction` lets Redis delete keys — BullMQ's
 * job hashes and lists among them — so jobs vanish silently; `unknown` when the server refuses CONFIG GET
 * (some managed services rename it).
 */
export type EvictionCheck = { policy: string; ok: boolean } | { policy: 'unknown'; ok: true; reason: string };

/**
 * Options of the general-purpose client. Requests must not hang while Redis is away: a command waits
 * through two reconnection attempts (well under a second) and then fails, so the page answers 503.
 * (BullMQ's own connections wait indefinitely instead: see jobs/redis-connection.ts.)
 */
export function redisOptions(): RedisOptions {
  return {
    maxRetriesPerRequest: 2,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
}

/**
 * Owns the process's general-purpose Redis client (sessions, rate limits, locks, caches) and
 * names every key under the configured prefix, so several installations can share one Redis.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  readonly prefix: string;
  /** Connected through Redis Sentinel (REDIS_SENTINELS). */
  readonly sentinel: boolean;
  /** The eviction policy read on the last (re)connection; undefined until the first. */
  eviction?: EvictionCheck;
  private readonly logger = new Logger('Redis');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.sentinel = config.redis.sentinel !== undefined;
    this.client = new Redis({ ...redisTarget(config.redis), ...redisOptions(), connectionName: `${this.prefix}-app` });
    // Errors surface through health checks and failing requests; an unhandled 'error' event would crash the process.
    this.client.on('error', () => undefined);
    // Read again on every connection: after a Sentinel failover the new primary may be configured differently.
    this.client.on('ready', () => void this.checkEviction());
  }

  /** Reads `maxmemory-policy`; logs an error (and /health/ready reports it) unless it is `noeviction`. */
  async checkEviction(): Promise<EvictionCheck> {
    let check: EvictionCheck;
    try {
      const answer = (await this.client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
      const policy = answer[1] ?? 'unknown';
      check = { policy, ok: policy === 'noeviction' };
    } catch (err) {
      check = { policy: 'unknown', ok: true, reason: err instanceof Error ? err.message : String(err) };
    }
    const changed = this.eviction?.policy !== check.policy;
    this.eviction = check;
    if (changed && !check.ok) {
      this.logger.error(
        `Redis (${describeRedis(this.config.redis)}) has maxmemory-policy ${check.policy}: at its memory ceiling it deletes keys, and ` +
          'BullMQ loses queued jobs that way. Set `maxmemory-policy noeviction` (redis.conf or CONFIG SET) on every Redis server.',
      );
    } else if (changed && 'reason' in check) {
      this.logger.warn(`could not read Redis's maxmemory-policy (${check.reason}); make sure it is noeviction`);
    }
    return check;
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
