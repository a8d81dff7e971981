import { Client } from 'pg';
import { startTestApp, TestApp } from '../support/app';
import { databaseFingerprint } from '../support/db-fingerprint';
import { signedInUser, TestUser } from '../support/users';

/**
 * Personal access tokens carry a scope (read-only or full) and an optional expiry, and no token can create another:
 * a leaked token can't outlive its revocation by minting a successor.
 */
describe('security: personal access tokens', () => {
  let t: TestApp;
  let owner: TestUser;
  let csrf: string;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await signedInUser(t);
    csrf = await owner.browser.csrfFrom('/settings');
  });
  afterAll(async () => {
    await t?.close();
  });

  const mint = async (body: object) => {
    const res = await owner.browser.agent.post('/api/v1/tokens').set('X-CSRF-Token', csrf).send(body);
    expect(res.status).toBe(201);
    return res.body as { secret: string; token: { id: string; scope: string; expiresAt: string | null } };
  };
  const bearer = (secret: string) => ({
    get: (path: string) => t.client().agent.get(path).set('Authorization', `Bearer ${secret}`),
    post: (path: string, body: object) =>
      t.client().agent.post(path).set('Authorization', `Bearer ${secret}`).send(body),
  });

  it('lets a read-only token read and refuses its writes (403), changing nothing', async () => {
    const { secret, token } = await mint({ name: 'dashboard script', scope: 'read' });
    expect(token.scope).toBe('read');
    const as = bearer(secret);
    expect((await as.get('/api/v1/tracks')).status).toBe(200);
    const before = await databaseFingerprint(t.databaseUrl);
    const write = await as.post('/api/v1/tracks', { title: 'Sneaky' });
    expect({ status: write.status, message: write.body.message }).toEqual({
      status: 403,
      message: 'this access token is read-only',
    });
    const remove = await t.client().agent.delete(`/api/v1/tokens/${token.id}`).set('Authorization', `Bearer ${secret}`);
    expect(remove.status).toBe(403);
    expect(await databaseFingerprint(t.databaseUrl)).toEqual(before);
  });

  it('lets a full token write, but no token create tokens', async () => {
    const { secret } = await mint({ name: 'upload script', scope: 'full' });
    const as = bearer(secret);
    expect(
      (await as.post('/api/v1/collaborators', { name: 'From a script', email: 'script@studio.test', role: 'mixer' }))
        .status,
    ).toBe(201);
    const tokensBefore = (await owner.browser.agent.get('/api/v1/tokens')).body.length;
    const minted = await as.post('/api/v1/tokens', { name: 'successor', scope: 'full' });
    expect({ status: minted.status, secret: minted.body.secret }).toEqual({ status: 403, secret: undefined });
    expect((await owner.browser.agent.get('/api/v1/tokens')).body.length).toBe(tokensBefore);
  });

  it('stops an expired token (401) and refuses nonsense expiries naming the field', async () => {
    const { secret, token } = await mint({ name: 'short lived', scope: 'full', expiresInDays: 1 });
    expect(new Date(token.expiresAt!).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect((await bearer(secret).get('/api/v1/me')).status).toBe(200);
    const db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    await db.query(`update api_tokens set expires_at = now() - interval '1 second' where id = $1`, [token.id]);
    await db.end();
    const expired = await bearer(secret).get('/api/v1/me');
    expect({ status: expired.status, message: expired.body.message }).toEqual({
      status: 401,
      message: 'invalid, expired or revoked access token',
    });
    for (const expiresInDays of [0, -1, 3651, 1.5, 'soon']) {
      const res = await owner.browser.agent
        .post('/api/v1/tokens')
        .set('X-CSRF-Token', csrf)
        .send({ name: 'x', expiresInDays });
      expect({ expiresInDays, status: res.status, field: res.body.errors?.[0]?.field }).toEqual({
        expiresInDays,
        status: 400,
        field: 'expiresInDays',
      });
    }
    const scope = await owner.browser.agent
      .post('/api/v1/tokens')
      .set('X-CSRF-Token', csrf)
      .send({ name: 'x', scope: 'admin' });
    expect({ status: scope.status, field: scope.body.errors?.[0]?.field }).toEqual({ status: 400, field: 'scope' });
  });

  it('creates read-only tokens expiring in 30 days from Settings unless asked otherwise', async () => {
    // What a browser sends: the options selected by default.
    const page = (await owner.browser.get('/settings')).text;
    const selected = (name: string) =>
      new RegExp(`<select[^>]*name="${name}"[\\s\\S]*?<option value="([^"]+)" selected`).exec(page)![1];
    expect({ scope: selected('scope'), expiresInDays: selected('expiresInDays') }).toEqual({
      scope: 'read',
      expiresInDays: '30',
    });
    const res = await owner.browser.submit('/settings', '/settings/tokens', {
      name: 'from settings',
      scope: selected('scope'),
      expiresInDays: selected('expiresInDays'),
    });
    expect(res.status).toBe(201);
    const listed = (
      (await owner.browser.agent.get('/api/v1/tokens')).body as Array<{
        name: string;
        scope: string;
        expiresAt: string | null;
      }>
    ).find((x) => x.name === 'from settings')!;
    expect(listed.scope).toBe('read');
    expect(new Date(listed.expiresAt!).getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
    const never = await owner.browser.submit('/settings', '/settings/tokens', {
      name: 'forever',
      scope: 'full',
      expiresInDays: 'never',
    });
    expect(never.status).toBe(201);
    const forever = (
      (await owner.browser.agent.get('/api/v1/tokens')).body as Array<{
        name: string;
        scope: string;
        expiresAt: string | null;
      }>
    ).find((x) => x.name === 'forever')!;
    expect(forever).toMatchObject({ scope: 'full', expiresAt: null });
  });
});
