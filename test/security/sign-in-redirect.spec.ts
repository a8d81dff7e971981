import { startTestApp, TestApp } from '../support/app';
import { signedInUser, TestUser } from '../support/users';

/**
 * `next` after sign-in must stay on this server however it is spelled. Each value is sent as a raw query string
 * (so percent-encodings reach the server as written) to a signed-in user's `GET /login` — which redirects at
 * once — and through the sign-in form; the answer's Location is resolved the way a browser resolves it.
 */
const BYPASSES = [
  '/.//evil.example',
  '/./..//evil.example',
  '/./../evil.example/x',
  '/\\evil.example',
  '%2F%2Fevil.example',
  '/%2F%2Fevil.example',
  '/%252F%252Fevil.example',
  '/%5Cevil.example',
  '/%255Cevil.example',
  '%5C%5Cevil.example',
  '\\\\evil.example',
  '/%09/evil.example',
  '/%0A/evil.example',
  '/%0D%0A/evil.example',
  '%2F%09%2Fevil.example',
  'https:evil.example',
  'https://evil.example',
  '//evil.example',
  '///evil.example',
  '/%2e/%2fevil.example',
  '/%2e%2e//evil.example',
  'javascript:alert(1)',
];

describe('security: no open redirect through next at sign-in', () => {
  let t: TestApp;
  let user: TestUser;
  // Plain http: an https PUBLIC_URL would make cookies Secure, which this plain-http test client never sends back.
  const publicUrl = 'http://studio.example';

  beforeAll(async () => {
    t = await startTestApp({ env: { PUBLIC_URL: publicUrl } });
    user = await signedInUser(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Where a browser on PUBLIC_URL goes with this Location. */
  const landing = (location: string) => new URL(location, `${publicUrl}/login`);

  it.each(BYPASSES)('a signed-in GET /login?next=%s stays on this server', async (next) => {
    const res = await user.browser.agent.get(`/login?next=${next.replace(/\\/g, '%5C')}`).redirects(0);
    expect(res.status).toBe(303);
    const location = String(res.headers.location);
    expect({ next, origin: landing(location).origin }).toEqual({ next, origin: publicUrl });
    expect(location).toMatch(/^\/(?![/\\])/);
    expect(location).not.toMatch(/[\\\t\r\n]/);
  });

  it.each(BYPASSES)('the sign-in page carries next=%s into its form only as a local path', async (next) => {
    const res = await t
      .client()
      .agent.get(`/login?next=${next.replace(/\\/g, '%5C')}`)
      .redirects(0);
    expect(res.status).toBe(200);
    const carried = (/name="next" value="([^"]*)"/.exec(res.text)?.[1] ?? '')
      .replace(/&amp;/g, '&')
      .replace(/&#x3D;/g, '=');
    // Nothing, or a path that stays here.
    if (carried) {
      expect({ next, origin: landing(carried).origin }).toEqual({ next, origin: publicUrl });
      expect(carried).toMatch(/^\/(?![/\\])/);
    }
  });

  // Sign-in allows 10 attempts a minute per address: a few of the worst, through the real form post.
  it.each(['/.//evil.example', '/%5Cevil.example', '%2F%09%2Fevil.example', 'https:evil.example'])(
    'signing in with next=%s stays on this server',
    async (next) => {
      const browser = t.client();
      const csrf = await browser.csrfFrom('/login');
      const res = await browser.agent
        .post('/login')
        .redirects(0)
        .type('form')
        .send(
          `_csrf=${encodeURIComponent(csrf)}&email=${encodeURIComponent(user.email)}&password=${encodeURIComponent(user.password)}&next=${next}`,
        );
      expect(res.status).toBe(303);
      expect({ next, location: res.headers.location }).toEqual({ next, location: '/' });
    },
  );

  it('keeps a local path and its query', async () => {
    const res = await user.browser.agent.get(`/login?next=${encodeURIComponent('/tracks?page=2')}`).redirects(0);
    expect(res.headers.location).toBe('/tracks?page=2');
    const dotted = await user.browser.agent.get('/login?next=/settings/./../shares').redirects(0);
    expect(dotted.headers.location).toBe('/shares');
  });
});
