import type { ConnectionOptions } from 'bullmq';
import type { AppConfig } from '../config/app-config';

/** BullMQ's connection: the same REDIS_URL as the rest of the process, waiting out Redis restarts. */
export function bullConnection(config: AppConfig): ConnectionOptions {
  return {
    url: config.redis.url,
    // Workers block on Redis; they must wait while it is away rather than fail their commands.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}
