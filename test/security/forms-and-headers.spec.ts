import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { DEFAULT_ADMIN, startTestApp, TestApp, WebClient } from '../support/app';
import { databaseFingerprint } from '../support/db-fingerprint';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { apiOperations } from '../support/openapi';

/** Same-origin pages reachable from the dashboard by following links (GET only), breadth first. */
async function crawl(client: WebClient, start: string[], limit = 60): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  const queue = [...start];
  while (queue.length && pages.size < limit) {
    const path = queue.shift()!;
    if (pages.has(path)) continue;
    const res = await client.get(path);
    if (res.status !== 200 || !String(res.headers['content-type']).includes('text/html')) continue;
    pages.set(path, res.text);
    for (const [, href] of res.text.matchAll(/href="(\/[^"#]*)"/g)) {
      const clean = href.replace(/&amp;/g, '&');
      // The queue dashboard (Bull Board, linked from the admin menu) is another app with its own headers and
      // its own spec (test/e2e/admin-queues.spec.ts).
      if (/^\/(static|api\/docs|s\/|logout|admin\/queues)/.test(clean) || clean.includes('/artwork/')) continue;
      if (!pages.has(clean) && !queue.includes(clean)) queue.push(clean);
    }
  }
  return pages;
}

interface Form {
  page: string;
  action: string;
  fields: Record<string, string>;
  multipart: boolean;
}

function formsOf(page: string, html: string): Form[] {
  const forms: Form[] = [];
  for (const [whole, attrs] of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    if (!/method="post"/i.test(attrs)) continue;
    const action = /action="([^"]+)"/.exec(attrs)?.[1]?.replace(/&amp;/g, '&') ?? page;
    const fields: Record<string, string> = {};
    for (const [, name, value] of whole.matchAll(/<input[^>]*name="([^"]+)"[^>]*?(?:value="([^"]*)")?[^>]*>/g)) {
      if (name !== '_csrf') fields[name] = value ?? 'x';
    }
    forms.push({
      page,
      action: action.replace(/[?&]_csrf=[^&]*/, ''),
      fields,
      multipart: /multipart\/form-data/.test(attrs),
    });
  }
  return forms;
}

describe('security: forms, CSRF and headers on every page', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let admin: WebClient;
  let pages: Map<string, string>;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-sec-spool-${process.pid}` } });
    admin = t.client();
    await admin.setupAdmin();
    const me = (await admin.agent.get('/api/v1/me')).body as { id: string };
    await seedConnection(t, emulator, me, { email: 'sec@dropbox.test' });
    // Some content so pages with lists, items and per-item forms exist.
    const csrf = await admin.csrfFrom('/settings');
    const track = await admin.agent
      .post('/api/v1/tracks')
      .set('X-CSRF-Token', csrf)
      .send({ title: 'Sweep', sharingStatus: 'preview' });
    await admin.agent
      .post('/api/v1/collaborators')
      .set('X-CSRF-Token', csrf)
      .send({ name: 'Sam', email: 'sam@example.com', role: 'mixer' });
    await admin.agent
      .post(`/api/v1/tracks/${track.body.id}/uploads`)
      .set('X-CSRF-Token', csrf)
      .attach('files', Buffer.from('x'), 'one.wav');
    await admin.submit('/settings', '/settings/tokens', { name: 'sweep token' });
    pages = await crawl(admin, [
      '/tracks',
      '/settings',
      '/admin/users',
      `/tracks/${track.body.id}`,
      '/collaborators',
      '/shares',
    ]);
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('finds the dashboard pages', () => {
    expect([...pages.keys()]).toEqual(expect.arrayContaining(['/tracks', '/settings', '/admin/users']));
  });

  it('sends a strict Content-Security-Policy and the other helmet headers on every page', async () => {
    const paths = [...pages.keys(), '/login'];
    for (const path of paths) {
      const res = path === '/login' ? await t.client().get(path) : await admin.get(path);
      const csp = String(res.headers['content-security-policy']);
      const scriptSrc = /script-src ([^;]+)/.exec(csp)?.[1] ?? '';
      expect({ path, scriptSrc }).toEqual({ path, scriptSrc: expect.not.stringContaining('unsafe-inline') });
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(res.headers['x-powered-by']).toBeUndefined();
      // No inline script or handler could run under that policy anyway; keep pages free of them.
      expect({ path, inline: /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+="/i.test(res.text) }).toEqual({
        path,
        inline: false,
      });
    }
  });

  it('refuses every form post of every page without a CSRF token, or with a wrong one, and changes nothing', async () => {
    const forms = [...pages.entries()].flatMap(([page, html]) => formsOf(page, html));
    expect(forms.length).toBeGreaterThan(5);
    const before = await databaseFingerprint(t.databaseUrl);
    for (const form of forms) {
      for (const token of [undefined, 'forged-token']) {
        const req = admin.agent.post(form.action).redirects(0);
        const res = form.multipart
          ? await req
              .field(token ? { ...form.fields, _csrf: token } : form.fields)
              .attach('files', Buffer.from('x'), 'x.wav')
          : await req.type('form').send(token ? { ...form.fields, _csrf: token } : form.fields);
        expect({ action: form.action, token, status: res.status }).toEqual({ action: form.action, token, status: 403 });
      }
    }
    expect(await databaseFingerprint(t.databaseUrl)).toEqual(before);
  });

  it('refuses every state-changing API route called with the session cookie but no CSRF token', async () => {
    const { operations } = await apiOperations(admin);
    const writes = operations.filter((op) => op.method !== 'get');
    expect(writes.length).toBeGreaterThan(10);
    const before = await databaseFingerprint(t.databaseUrl);
    for (const op of writes) {
      const path = op.path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      for (const token of [undefined, 'forged-token']) {
        const req = admin.agent[op.method](path);
        const res = await (token ? req.set('X-CSRF-Token', token) : req).send({});
        expect({ route: `${op.method} ${op.path}`, token, status: res.status }).toEqual({
          route: `${op.method} ${op.path}`,
          token,
          status: 403,
        });
      }
    }
    expect(await databaseFingerprint(t.databaseUrl)).toEqual(before);
  });

  it('marks cookies Secure behind an HTTPS proxy when TRUST_PROXY is on', async () => {
    const proxied = await startTestApp({ env: { ...dropboxEnv(emulator), TRUST_PROXY: '127.0.0.1,::1' } });
    try {
      // No user yet: the setup form signs its admin in, which starts the session.
      const setUp = async (forwardedProto?: string) => {
        const browser = proxied.client();
        const page = await browser.agent.get('/setup').set('X-Forwarded-Proto', forwardedProto ?? 'http');
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
        const post = browser.agent.post('/setup').redirects(0).type('form');
        if (forwardedProto) post.set('X-Forwarded-Proto', forwardedProto);
        return post.send({ _csrf: csrf, ...DEFAULT_ADMIN });
      };
      const res = await setUp('https');
      expect(res.status).toBe(303);
      const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      expect(cookies.find((c) => c.startsWith('pd.sid='))).toMatch(/; Secure/);
      const plain = await proxied.client().signIn(DEFAULT_ADMIN.email, DEFAULT_ADMIN.password);
      expect(
        ([] as string[]).concat(plain.headers['set-cookie'] ?? []).find((c) => c.startsWith('pd.sid=')),
      ).not.toMatch(/; Secure/);
    } finally {
      await proxied.close();
    }
  });

  it('never redirects off-site after sign-in, whatever `next` says', async () => {
    for (const next of [
      '//evil.example',
      'https://evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      '/%2F%2Fevil.example',
    ]) {
      const browser = t.client();
      const res = await browser.submit('/login', '/login', {
        email: DEFAULT_ADMIN.email,
        password: DEFAULT_ADMIN.password,
        next,
      });
      expect(res.status).toBe(303);
      // Wherever it points, a browser resolves it on this origin.
      expect(new URL(res.headers.location, 'http://app.local').origin).toBe('http://app.local');
      expect(res.headers.location.startsWith('//')).toBe(false);
    }
  });
});
