import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisServer } from '../../tools/services';

/** The Redis that global setup found or started for this run. */
export function testRedisUrl(): string {
  const url = process.env.PD_TEST_REDIS_URL;
  if (!url) throw new Error('PD_TEST_REDIS_URL is not set: run the test through jest, whose global setup provides it');
  return url;
}

/**
 * A REDIS_PREFIX no other spec (or concurrent run) uses, so BullMQ queues, sessions and caches of parallel specs
 * never meet. Fits the app's rule for REDIS_PREFIX: 1–32 of [A-Za-z0-9_-].
 */
export function uniqueRedisPrefix(): string {
  return `pdt-${randomBytes(8).toString('hex')}`;
}

/**
 * Deletes every key starting with `prefix` — the app's `<prefix>:…` keys and BullMQ's `<prefix>-bull:…` — and
 * returns how many. Safe with {@link uniqueRedisPrefix}, whose random tail no other prefix extends. SCAN + UNLINK in
 * batches, never KEYS, so a shared Redis is not blocked.
 */
export async function deleteRedisPrefix(prefix: string, url = testRedisUrl()): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`Refusing to delete keys for an unusual prefix: ${prefix}`);
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM: the append-only file is flushed); the data stays for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/** A redis-server owned by one test, for tests that stop or restart Redis to check the app copes. */
export async function startPrivateRedis({ appendOnly = true }: { appendOnly?: boolean } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-private-redis-'));
  let server: RedisServer;
  try {
    server = await RedisServer.start({ dataDir: dir, appendOnly });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: server.url,
    port: server.port,
    stop: () => server.stop(),
    restart: () => server.restart(),
    destroy: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
