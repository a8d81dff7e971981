import Redis from 'ioredis';
import { WebClient } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { PrivateRedis, startPrivateRedis, uniqueRedisPrefix } from '../support/redis';
import { ServerProcess, startServerProcess } from '../support/server-process';

/**
 * BullMQ loses jobs when Redis evicts keys: a server started against a Redis whose maxmemory-policy is not
 * noeviction logs an error naming the policy and stays not ready (/health/ready 503) until it is fixed.
 */
jest.setTimeout(90_000);

describe('Redis eviction policy', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let database: TestDatabase;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    redis = await startPrivateRedis({ appendOnly: false });
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await server?.stop();
    admin?.disconnect();
    await redis?.destroy();
    await database?.drop();
  });

  it('logs an error and reports not ready under allkeys-lru; ready once the policy is noeviction', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    server = await startServerProcess(
      {
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        REDIS_PREFIX: uniqueRedisPrefix(),
        LOG_LEVEL: 'info',
        WORKERS: 'off',
      },
      { waitFor: '/health/live' },
    );
    const client = new WebClient(server.url);
    const ready = await client.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details.database.status).toBe('up');
    expect(ready.body.details.redis).toMatchObject({ status: 'down', maxmemoryPolicy: 'allkeys-lru' });
    expect(ready.body.details.redis.message).toMatch(/noeviction/);

    const errors = () =>
      server!
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 50 && /maxmemory-policy allkeys-lru/.test(l.msg));
    for (let i = 0; i < 100 && errors().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(errors()).toHaveLength(1);
    expect(errors()[0].msg).toMatch(/BullMQ loses queued jobs/);

    // Fixed on the server: the next probe reads it again, no restart needed.
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const again = await client.get('/health/ready');
    expect(again.status).toBe(200);
    expect(again.body.details.redis).toEqual({ status: 'up', maxmemoryPolicy: 'noeviction' });
  });
});
