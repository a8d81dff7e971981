import Redis from 'ioredis';
import { NOT_FOUND_PER_MINUTE } from '../../src/common/http/not-found-limiter';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';

/** Keys under this installation's prefix, with their time to live in ms (-1: none). */
async function keysWithTtl(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) keys.set(key, await redis.pttl(key));
  } while (cursor !== '0');
  return keys;
}

/**
 * Nothing a visitor without an account does may leave a key in Redis that outlives a few minutes (a 14-day session
 * per anonymous page view filled Redis at gigabytes a day), and unknown paths are rate-limited like every route.
 */
describe('security: anonymous visitors cost Redis nothing lasting', () => {
  let w: ShareWorld;
  let redis: Redis;
  let token: string;
  let locked: string;

  beforeAll(async () => {
    w = await startShareWorld();
    redis = new Redis(w.t.config.redis.url);
    const track = await makeTrack(w.producer, w.dbx, { title: 'Open Mix' }, { 'Bounces/Mix.wav': Buffer.from('RIFF') });
    const files = Object.values(await selectionOf(w.producer, track.id));
    token = tokenOf(
      (await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId: track.id, files }] })).body.url,
    );
    locked = tokenOf(
      (
        await api(w.producer).post('/api/v1/shares', {
          tracks: [{ trackId: track.id, files }],
          password: 'a long password',
        })
      ).body.url,
    );
  });
  afterAll(async () => {
    redis?.disconnect();
    await w?.close();
  });

  it('stores no session and no key living longer than 10 minutes for anything an anonymous visitor does', async () => {
    const before = await keysWithTtl(redis, w.t.config.redis.prefix);
    const visitor = w.t.client();
    const paths = [
      '/',
      '/login',
      '/setup',
      '/tracks',
      '/shares',
      '/settings',
      '/admin/users',
      '/admin/queues',
      '/api/docs',
      '/api/v1/tracks',
      `/s/${token}`,
      `/s/${locked}`,
      '/s/unknown-token-aaaaaaaaaaaa',
      '/no-such-page',
      '/static/nope.css',
      '/wp-login.php',
      '/.env',
    ];
    for (const path of paths) {
      await visitor.get(path);
      await w.t.client().get(path);
      await w.t.client().agent.head(path).redirects(0);
    }
    // The forms an anonymous visitor can post: sign-in and a share password, wrong each time.
    const csrf = await visitor.csrfFrom('/login');
    expect(
      (
        await visitor.agent
          .post('/login')
          .redirects(0)
          .type('form')
          .send({ _csrf: csrf, email: 'x@studio.test', password: 'wrong password' })
      ).status,
    ).toBe(401);
    expect((await visitor.submit(`/s/${locked}`, `/s/${locked}`, { password: 'not the password' })).status).toBe(401);
    expect((await visitor.agent.post('/no-such-form').redirects(0).type('form').send({ _csrf: csrf })).status).toBe(
      404,
    );

    const after = await keysWithTtl(redis, w.t.config.redis.prefix);
    const lasting = [...after]
      .filter(([key, ttl]) => !before.has(key) || before.get(key)! < ttl)
      // One hash per share (not per visitor) of counts waiting for the next flush to PostgreSQL, which deletes it.
      .filter(([key]) => !/:share:stats(?:-dirty)?(?::|$)/.test(key))
      // The metrics index names this server's processes (one entry per process, written on its own schedule).
      .filter(([key]) => !/:metrics:instances$/.test(key))
      .filter(([, ttl]) => ttl < 0 || ttl > 10 * 60_000);
    expect(lasting).toEqual([]);
    expect([...after.keys()].filter((key) => key.includes(':sess:') && !before.has(key))).toEqual([]);
  });

  it('still signs in with the cookie-only form token, and then gets a session', async () => {
    const visitor = w.t.client();
    const res = await visitor.signIn(w.producer.email, w.producer.password);
    expect(res.status).toBe(303);
    expect(visitor.sessionId()).toBeDefined();
    expect((await visitor.get('/tracks')).status).toBe(200);
  });

  it('refuses the sign-in form without its token, or with another visitor’s', async () => {
    const visitor = w.t.client();
    await visitor.get('/login');
    const other = await w.t.client().csrfFrom('/login');
    for (const token of [undefined, 'forged', other]) {
      const res = await visitor.agent
        .post('/login')
        .redirects(0)
        .type('form')
        .send({ ...(token ? { _csrf: token } : {}), email: w.producer.email, password: w.producer.password });
      expect({ token, status: res.status }).toEqual({ token, status: 403 });
    }
  });

  it(`answers 429 with Retry-After after ${NOT_FOUND_PER_MINUTE} unknown paths a minute from one address`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < NOT_FOUND_PER_MINUTE + 5; i++) statuses.push((await w.t.client().get(`/probe-${i}`)).status);
    expect(statuses.filter((s) => s === 404).length).toBeLessThanOrEqual(NOT_FOUND_PER_MINUTE);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    const limited = await w.t.client().agent.get('/probe-again').set('Accept', 'application/json');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.body.message).toMatch(/Too many requests/);
  });
});
