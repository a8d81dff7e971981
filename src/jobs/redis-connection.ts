import type { ConnectionOptions } from 'bullmq';
import type { AppConfig } from '../config/app-config';
import { redisTarget } from '../common/redis/redis-options';

/** BullMQ's connection: the same Redis (REDIS_URL or Sentinel) as the rest of the process, waiting out restarts and failovers. */
export function bullConnection(config: AppConfig): ConnectionOptions {
  return {
    ...redisTarget(config.redis),
    // Workers block on Redis; they must wait while it is away rather than fail their commands.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}
