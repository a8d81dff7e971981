import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

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

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.prefix = config.redis.prefix;
    this.client = new Redis(config.redis.url, { ...redisOptions(), connectionName: `${this.prefix}-app` });
    // Errors surface through health checks and failing requests; an unhandled 'error' event would crash the process.
    this.client.on('error', () => undefined);
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
