import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '../../common/redis/redis.module';

const PING_TIMEOUT_MS = 1_000;

@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly redis: RedisService,
  ) {}

  async isHealthy(key: 'redis') {
    const indicator = this.health.check(key);
    // The shared client queues commands while reconnecting; readiness must answer now, not when Redis is back.
    if (this.redis.client.status !== 'ready') return indicator.down({ message: `connection is ${this.redis.client.status}` });
    try {
      await Promise.race([
        this.redis.client.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS).unref()),
      ]);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : 'ping failed' });
    }
  }
}
