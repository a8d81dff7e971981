import type { RedisOptions } from 'ioredis';
import type { RedisConfig } from '../../config/app-config';

/**
 * How every Redis connection of the process reaches its server: the one REDIS_URL, or the primary that Redis
 * Sentinel names (REDIS_SENTINELS). The general client, BullMQ's queues and workers, sessions, rate limits and
 * caches all build their connection from here, so none of them keeps talking to a demoted primary.
 */
export function redisTarget(config: RedisConfig): RedisOptions {
  const sentinel = config.sentinel;
  if (!sentinel) return urlOptions(config.url);
  return {
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    password: sentinel.password,
    sentinelPassword: sentinel.sentinelPassword,
    ...(sentinel.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    ...(sentinel.sentinelTls ? { sentinelTLS: {} } : {}),
    // Ask the sentinels again on every reconnection, and follow their +switch-master announcement at once.
    failoverDetector: true,
    sentinelRetryStrategy: (times: number) => Math.min(times * 200, 2000),
    // A primary demoted by a failover answers writes with READONLY until Sentinel's client kill reaches us:
    // reconnect (through the sentinels, to the new primary) and resend the command instead of failing it.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

/** REDIS_URL as ioredis options (rediss:// turns TLS on). */
function urlOptions(raw: string): RedisOptions {
  const url = new URL(raw);
  const db = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: db ? Number(db) : undefined,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

/** Where the process's Redis is, for log lines (no password). */
export function describeRedis(config: RedisConfig): string {
  if (config.sentinel)
    return `Sentinel "${config.sentinel.name}" via ${config.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  const url = new URL(config.url);
  return `${url.protocol}//${url.host}`;
}
