import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface LockOptions {
  /** How long the lock lives if its holder dies without releasing it. Renewed while the work runs. */
  ttlMs: number;
  /** Give up waiting after this long. */
  waitMs: number;
}

export class LockTimeout extends Error {
  constructor(key: string) {
    super(`timed out waiting for lock ${key}`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A mutex shared by every process on one Redis (SET NX PX with an owner token; released and renewed only by its
 * owner). Used where Dropbox needs one-at-a-time behaviour across web and worker processes.
 */
export async function withRedisLock<T>(
  redis: Redis,
  key: string,
  options: LockOptions,
  work: () => Promise<T>,
): Promise<T> {
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + options.waitMs;
  let pause = 5;
  while ((await redis.set(key, token, 'PX', options.ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new LockTimeout(key);
    // Short, jittered polls: waiters are few and writes are short.
    await sleep(pause + Math.random() * pause);
    pause = Math.min(pause * 2, 100);
  }
  const renew = setInterval(
    () => {
      redis.eval(EXTEND, 1, key, token, String(options.ttlMs)).catch(() => undefined);
    },
    Math.max(options.ttlMs / 3, 50),
  );
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}

/** Takes the lock only if it is free right now; returns a release function, or null. */
export async function tryRedisLock(redis: Redis, key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
  const token = randomBytes(16).toString('hex');
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  return async () => {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  };
}
