import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import { fillPath, ownedFixtures, OwnedFixtures } from '../support/fixtures';
import { apiOperations, ApiOperation } from '../support/openapi';
import { signedInUser, TestUser } from '../support/users';

/**
 * What a signed-in page or API answer shows — every share link, a new access token shown once — must not be kept
 * by a browser or a proxy cache: `Cache-Control: no-store` on all of them.
 */
describe('security: signed-in pages and API answers are not cached', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let owner: TestUser;
  let admin: TestUser;
  let fixtures: OwnedFixtures;
  let operations: ApiOperation[];

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-cache-spool-${process.pid}` } });
    owner = await signedInUser(t);
    admin = await signedInUser(t, 'admin');
    fixtures = await ownedFixtures(t, emulator, owner);
    ({ operations } = await apiOperations(owner.browser));
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const noStore = (res: { headers: Record<string, unknown> }) => String(res.headers['cache-control'] ?? '');

  it('sends no-store on every dashboard page', async () => {
    const pages = [
      '/tracks',
      `/tracks/${fixtures.ids.tracks}`,
      `/tracks/${fixtures.ids.tracks}/share`,
      '/shares',
      `/shares/${fixtures.ids.shares}`,
      '/collaborators',
      '/settings',
      '/no-such-page',
    ];
    for (const page of pages) {
      const res = await owner.browser.get(page);
      expect({ page, status: res.status < 500, cacheControl: noStore(res) }).toEqual({
        page,
        status: true,
        cacheControl: 'no-store',
      });
    }
    for (const page of ['/admin/users', '/admin/shares', '/admin/queues']) {
      const res = await admin.browser.get(page);
      expect({ page, status: res.status, cacheControl: noStore(res) }).toEqual({
        page,
        status: 200,
        cacheControl: 'no-store',
      });
    }
  });

  it('sends no-store on the page that shows a new access token once', async () => {
    const res = await owner.browser.submit('/settings', '/settings/tokens', { name: 'shown once' });
    expect(res.status).toBe(201);
    expect(res.text).toMatch(/pdat_/);
    expect(noStore(res)).toBe('no-store');
  });

  it('sends no-store on every API answer, with the session, with a token, and refused', async () => {
    const csrf = await owner.browser.csrfFrom('/settings');
    const secret = (
      await owner.browser.agent.post('/api/v1/tokens').set('X-CSRF-Token', csrf).send({ name: 'cache check' })
    ).body.secret as string;
    for (const op of operations.filter((o) => o.method === 'get')) {
      const path = fillPath(op.path, fixtures.ids);
      const viaSession = await owner.browser.agent.get(path);
      const viaToken = await t.client().agent.get(path).set('Authorization', `Bearer ${secret}`);
      const anonymous = await t.client().agent.get(path);
      for (const [who, res] of [
        ['session', viaSession],
        ['token', viaToken],
        ['anonymous', anonymous],
      ] as const) {
        expect({ path, who, cacheControl: noStore(res) }).toEqual({ path, who, cacheControl: 'no-store' });
      }
    }
  });
});
