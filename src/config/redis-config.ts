import type { RedisConfig } from './app-config.types';
import type { EnvSchema } from './env-schema';

/**
 * REDIS_SENTINELS: `host:port,host:port,…` (IPv6 as `[addr]:port`). Undefined when unset (REDIS_URL applies).
 */
export function parseSentinels(raw: string | undefined): {
  list?: Array<{ host: string; port: number }>;
  problem?: string;
} {
  if (raw === undefined || raw.trim() === '') return {};
  const list: Array<{ host: string; port: number }> = [];
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[3]) : 0;
    if (!match || port < 1 || port > 65535) {
      return {
        problem: `REDIS_SENTINELS: "${entry}" is not host:port; list the sentinels as host:port,host:port (e.g. 10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379)`,
      };
    }
    list.push({ host: match[1] ?? match[2], port });
  }
  return { list };
}

export function redisConfig(env: EnvSchema, sentinels: Array<{ host: string; port: number }> | undefined): RedisConfig {
  return {
    url: env.REDIS_URL,
    prefix: env.REDIS_PREFIX,
    sentinel: sentinels
      ? {
          sentinels,
          name: env.REDIS_SENTINEL_NAME,
          password: env.REDIS_PASSWORD,
          sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
          tls: env.REDIS_TLS === 'on',
          sentinelTls: env.REDIS_SENTINEL_TLS === 'on',
        }
      : undefined,
  };
}
