import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { RedisServer } from '../../tools/services';
import { deleteKeysStartingWith, makeTempDir, runRedisPrefix } from './leftovers';

/** The Redis that global setup found or started for this run. */
export function testRedisUrl(): string {
  const url = process.env.PD_TEST_REDIS_URL;
  if (!url) throw new Error('PD_TEST_REDIS_URL is not set: run the test through jest, whose global setup provides it');
  return url;
}

/**
 * A REDIS_PREFIX no other spec (or concurrent run) uses, so BullMQ queues, sessions and caches of parallel specs
 * never meet; it names the run, so teardown removes whatever a spec leaves. Fits the app's rule for REDIS_PREFIX:
 * at most 32 of [A-Za-z0-9_-].
 */
export function uniqueRedisPrefix(): string {
  const runId = process.env.PD_TEST_RUN_ID;
  if (!runId) throw new Error('PD_TEST_RUN_ID is not set: run the test through jest, whose global setup provides it');
  return `${runRedisPrefix(runId)}${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes every key starting with `prefix` — the app's `<prefix>:…` keys and BullMQ's `<prefix>-bull:…` — and
 * returns how many. Safe with {@link uniqueRedisPrefix}, whose random tail no other prefix extends.
 */
export function deleteRedisPrefix(prefix: string, url = testRedisUrl()): Promise<number> {
  return deleteKeysStartingWith(url, prefix);
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
  const dir = makeTempDir('private-redis');
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
