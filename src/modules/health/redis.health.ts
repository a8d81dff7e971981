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
    if (this.redis.client.status !== 'ready')
      return indicator.down({ message: `connection is ${this.redis.client.status}` });
    try {
      // Under Sentinel the connected server must still be the primary: a demoted one answers PING but refuses writes.
      const probe = this.redis.sentinel
        ? this.redis.client.call('ROLE').then((role) => (role as unknown[])[0])
        : this.redis.client.ping();
      const answer = await Promise.race([
        probe,
        new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS).unref()),
      ]);
      if (this.redis.sentinel && answer !== 'master')
        return indicator.down({ message: `connected to a ${String(answer)}, not the primary` });
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : 'ping failed' });
    }
    // Read on every probe (one cheap CONFIG GET), so fixing the policy makes the server ready without a restart.
    const eviction = await this.redis.checkEviction();
    if (!eviction.ok) {
      return indicator.down({
        message: `maxmemory-policy is ${eviction.policy}: Redis may evict queued jobs; set it to noeviction`,
        maxmemoryPolicy: eviction.policy,
      });
    }
    return indicator.up({ maxmemoryPolicy: eviction.policy });
  }
}
