import { MikroORM } from '@mikro-orm/postgresql';
import { mikroOrmOptions } from '../../src/database/mikro-orm.config';
import { User } from '../../src/modules/accounts/entities/user.entity';
import { DEFAULT_ADMIN, startTestApp, TestApp } from '../support/app';

const PRODUCER = { name: 'Pat Producer', email: 'pat@studio.test', password: 'pat-password-1', role: 'producer' };

describe('accounts over real HTTP', () => {
  let t: TestApp;
  let orm: MikroORM;

  beforeAll(async () => {
    t = await startTestApp();
    orm = await MikroORM.init(mikroOrmOptions(t.databaseUrl, { poolMax: 2 }));
  });
  afterAll(async () => {
    await orm?.close(true);
    await t?.close();
  });

  const countUsers = () => orm.em.fork().count(User, {});

  it('sends everyone to first-run setup while no user exists', async () => {
    const res = await t.client().get('/login');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/setup');
  });

  it('refuses a setup post without a CSRF token and creates nothing', async () => {
    const browser = t.client();
    await browser.get('/setup');
    const res = await browser.agent.post('/setup').type('form').send(DEFAULT_ADMIN).redirects(0);
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/CSRF/);
    expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    expect(await countUsers()).toBe(0);
  });

  it('explains bad setup input beside the fields and creates nothing', async () => {
    const browser = t.client();
    const res = await browser.submit('/setup', '/setup', { name: '', email: 'not-an-email', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('email must be an email address');
    expect(res.text).toContain('password must be at least 10 characters');
    expect(await countUsers()).toBe(0);
  });

  let adminBrowser: ReturnType<TestApp['client']>;

  it('creates the admin at setup, signs them in, and then setup is gone', async () => {
    adminBrowser = t.client();
    await adminBrowser.setupAdmin();
    const settings = await adminBrowser.get('/settings');
    expect(settings.status).toBe(200);
    expect(settings.text).toContain(DEFAULT_ADMIN.email);
    expect((await t.client().get('/setup')).status).toBe(404);
    const late = await t.client().agent.post('/setup').type('form').send(DEFAULT_ADMIN);
    expect([403, 404]).toContain(late.status);
    const stored = await orm.em
      .fork()
      .findOneOrFail(User, { email: DEFAULT_ADMIN.email }, { populate: ['passwordHash'] });
    expect(stored.role).toBe('admin');
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('signs out server-side: the old session cookie no longer works', async () => {
    const browser = t.client();
    const signIn = await browser.signIn(DEFAULT_ADMIN.email, DEFAULT_ADMIN.password);
    expect(signIn.status).toBe(303);
    const cookieHeader = `pd.sid=${browser.sessionId()}`;
    const csrf = await browser.csrfFrom('/settings');
    const out = await browser.agent.post('/logout').type('form').send({ _csrf: csrf }).redirects(0);
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/login');
    const replay = await t.client().agent.get('/settings').set('Cookie', cookieHeader).redirects(0);
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toBe('/login?next=%2Fsettings');
  });

  it('gives the same generic error for a wrong password and an unknown email', async () => {
    const wrong = await t.client().signIn(DEFAULT_ADMIN.email, 'wrong password!');
    const unknown = await t.client().signIn('nobody@studio.test', 'wrong password!');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    for (const res of [wrong, unknown]) expect(res.text).toContain('Email or password is incorrect.');
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
    expect(strip(wrong.text).replace(DEFAULT_ADMIN.email, '')).toBe(
      strip(unknown.text).replace('nobody@studio.test', ''),
    );
  });

  it('issues a new session id at sign-in (no session fixation)', async () => {
    const browser = t.client();
    // Signed-out visitors hold no session at all (their form tokens are cookie-only).
    await browser.get('/login');
    expect(browser.sessionId()).toBeUndefined();
    await browser.signIn(DEFAULT_ADMIN.email, DEFAULT_ADMIN.password);
    const before = browser.sessionId();
    expect(before).toBeDefined();
    // Signing in again over a session the browser already holds (one someone could have planted) replaces it.
    expect(
      (await browser.submit('/settings', '/login', { email: DEFAULT_ADMIN.email, password: DEFAULT_ADMIN.password }))
        .status,
    ).toBe(303);
    expect(browser.sessionId()).toBeDefined();
    expect(browser.sessionId()).not.toBe(before);
  });

  it('sets httpOnly, SameSite=Lax session cookies', async () => {
    const res = await t.client().signIn(DEFAULT_ADMIN.email, DEFAULT_ADMIN.password);
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    const sid = cookies.find((c) => c.startsWith('pd.sid='));
    expect(sid).toMatch(/HttpOnly/);
    expect(sid).toMatch(/SameSite=Lax/);
  });

  it('lets only a safe local path follow sign-in', async () => {
    const browser = t.client();
    const res = await browser.submit('/login', '/login', {
      email: DEFAULT_ADMIN.email,
      password: DEFAULT_ADMIN.password,
      next: '//evil.example/phish',
    });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });

  describe('roles', () => {
    let producerBrowser: ReturnType<TestApp['client']>;
    let producerId: string;

    beforeAll(async () => {
      const res = await adminBrowser.submit('/admin/users', '/admin/users', PRODUCER);
      expect(res.status).toBe(303);
      producerId = (await orm.em.fork().findOneOrFail(User, { email: PRODUCER.email })).id;
      producerBrowser = t.client();
      expect((await producerBrowser.signIn(PRODUCER.email, PRODUCER.password)).status).toBe(303);
    });

    it('refuses an admin form post without a valid CSRF token and changes nothing', async () => {
      const before = await countUsers();
      const res = await adminBrowser.agent
        .post('/admin/users')
        .type('form')
        .send({ ...PRODUCER, email: 'sneaky@studio.test', _csrf: 'forged' })
        .redirects(0);
      expect(res.status).toBe(403);
      expect(await countUsers()).toBe(before);
    });

    it('rejects a duplicate email with a message on the field', async () => {
      const res = await adminBrowser.submit('/admin/users', '/admin/users', {
        ...PRODUCER,
        email: PRODUCER.email.toUpperCase(),
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain('email is already used by another account');
    });

    it('keeps producers out of admin pages and admin API routes (403)', async () => {
      expect((await producerBrowser.get('/admin/users')).status).toBe(403);
      const api = await producerBrowser.agent.get('/api/v1/admin/users');
      expect(api.status).toBe(403);
      expect(api.body).toMatchObject({ statusCode: 403 });
      const page = await producerBrowser.get('/tracks');
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('href="/admin/users"');
    });

    it('sends anonymous callers to sign in (pages) or answers 401 (API)', async () => {
      const anon = t.client();
      const page = await anon.get('/admin/users');
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe('/login?next=%2Fadmin%2Fusers');
      const api = await anon.agent.get('/api/v1/admin/users');
      expect(api.status).toBe(401);
      expect(api.body).toEqual({ statusCode: 401, error: 'UNAUTHORIZED', message: 'sign in required' });
      expect((await anon.agent.get('/api/v1/me')).status).toBe(401);
    });

    it('serves the API with a personal access token and stops when it is revoked', async () => {
      const created = await producerBrowser.submit('/settings', '/settings/tokens', {
        name: 'script',
        scope: 'full',
        expiresInDays: 'never',
      });
      expect(created.status).toBe(201);
      const secret = /id="new-token">(pdat_[A-Za-z0-9_-]+)</.exec(created.text)?.[1];
      expect(secret).toBeDefined();
      const me = await t.client().agent.get('/api/v1/me').set('Authorization', `Bearer ${secret}`);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ email: PRODUCER.email, role: 'producer' });
      // A token-authenticated write needs no CSRF token (no ambient credential) …
      const collaborator = { name: 'Via Token', email: 'via-token@studio.test', role: 'mixer' };
      const viaToken = await t
        .client()
        .agent.post('/api/v1/collaborators')
        .set('Authorization', `Bearer ${secret}`)
        .send(collaborator);
      expect(viaToken.status).toBe(201);
      // … while the same call with only the session cookie does.
      expect((await producerBrowser.agent.post('/api/v1/collaborators').send(collaborator)).status).toBe(403);
      const tokens = await t.client().agent.get('/api/v1/tokens').set('Authorization', `Bearer ${secret}`);
      const first = (tokens.body as Array<{ id: string; name: string }>).find((tk) => tk.name === 'script')!;
      const del = await t.client().agent.delete(`/api/v1/tokens/${first.id}`).set('Authorization', `Bearer ${secret}`);
      expect(del.status).toBe(204);
      expect((await t.client().agent.get('/api/v1/me').set('Authorization', `Bearer ${secret}`)).status).toBe(401);
    });

    it('validates API bodies: 400 naming the field, unknown fields refused', async () => {
      const csrf = await adminBrowser.csrfFrom('/admin/users');
      const res = await adminBrowser.agent
        .post('/api/v1/admin/users')
        .set('X-CSRF-Token', csrf)
        .send({ name: 'X', email: 'bad', password: 'longenough1', isAdmin: true });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'email' }),
          expect.objectContaining({ field: 'isAdmin', message: 'property isAdmin should not exist' }),
        ]),
      );
    });

    it('disabling a producer ends their sessions at once', async () => {
      const csrf = await adminBrowser.csrfFrom('/admin/users');
      const res = await adminBrowser.agent
        .post(`/admin/users/${producerId}/disable`)
        .type('form')
        .send({ _csrf: csrf })
        .redirects(0);
      expect(res.status).toBe(303);
      const after = await producerBrowser.get('/tracks');
      expect(after.status).toBe(303);
      expect((await t.client().signIn(PRODUCER.email, PRODUCER.password)).status).toBe(401);
    });
  });

  it('rate-limits sign-in attempts', async () => {
    const browser = t.client();
    const csrf = await browser.csrfFrom('/login');
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const res = await browser.agent
        .post('/login')
        .type('form')
        .send({ _csrf: csrf, email: 'x@studio.test', password: 'nope' })
        .redirects(0);
      statuses.push(res.status);
    }
    expect(statuses).toContain(429);
  });
});
