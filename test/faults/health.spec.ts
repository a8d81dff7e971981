import { startTestApp, TestApp } from '../support/app';
import { eventually } from '../support/poll';
import { PrivateRedis, startPrivateRedis } from '../support/redis';

const until = (check: () => Promise<boolean>, timeoutMs = 15_000) =>
  eventually(check, Boolean, { timeoutMs, everyMs: 200 });

describe('health', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await startTestApp({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await redis.restart().catch(() => undefined);
    await t?.close();
    await redis?.destroy();
  });

  it('is live and ready with PostgreSQL and Redis up', async () => {
    expect((await t.client().get('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await t.client().get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });
  });

  it('answers 503 while its Redis is stopped, and 200 again once it is back', async () => {
    await redis.stop();
    await until(async () => (await t.client().get('/health/ready')).status === 503);
    const down = await t.client().get('/health/ready');
    expect(down.body.details.redis.status).toBe('down');
    expect(down.body.details.database.status).toBe('up');
    // Liveness does not depend on Redis: restarting the process would not help.
    expect((await t.client().get('/health/live')).status).toBe(200);

    await redis.restart();
    await until(async () => (await t.client().get('/health/ready')).status === 200);
  });

  it('pages fail cleanly without Redis: 503 with no stack trace, and the queues retry without printing stacks', async () => {
    // Queues and the flow producer reconnect on their own; BullMQ prints each failure's stack when nobody listens.
    const printed = jest.spyOn(console, 'error');
    await redis.stop();
    try {
      await until(async () => (await t.client().get('/health/ready')).status === 503);
      const page = await t.client().get('/login');
      expect(page.status).toBe(503);
      expect(page.headers['retry-after']).toBeDefined();
      expect(page.text).not.toMatch(/\n\s+at /);
      expect(page.text).not.toMatch(/ioredis|ECONNREFUSED/);
      await new Promise((r) => setTimeout(r, 3000)); // a few reconnection attempts
      expect(printed.mock.calls.map((args) => String(args[0]))).toEqual([]);
    } finally {
      printed.mockRestore();
      await redis.restart();
    }
  });
});
