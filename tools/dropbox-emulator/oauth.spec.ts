import { DropboxAuth, users } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';
import { emulatorDropboxClient, emulatorFetch } from './index';

const APP_KEY = 'emulated-app-key';
const REDIRECT_URI = 'http://localhost:3000/settings/dropbox/callback';
const SCOPES = [
  'account_info.read',
  'files.metadata.read',
  'files.content.read',
  'files.content.write',
  'sharing.read',
  'sharing.write',
];

interface TokenResult {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
  uid: string;
  account_id: string;
}

describe('OAuth', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture({ appKey: APP_KEY });
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  /** What the app does: a PKCE authorization URL from the SDK, pointed at the emulator. */
  async function authorizationRequest(auth: DropboxAuth, state: string): Promise<URL> {
    const sdkUrl = new URL(
      String(await auth.getAuthenticationUrl(REDIRECT_URI, state, 'code', 'offline', SCOPES, undefined, true)),
    );
    return new URL(`/oauth2/authorize${sdkUrl.search}`, fixture.emulator.url);
  }

  /** What the browser does: load the consent page, submit its form with one of the buttons. */
  async function decide(authorizeUrl: URL, decision: 'allow' | 'deny', email?: string): Promise<URL> {
    const page = await fetch(authorizeUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    const form = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="(?:hidden|email)" name="([^"]+)" value="([^"]*)"/g)) {
      form.set(name, unescapeHtml(value));
    }
    if (email) form.set('email', email);
    form.set('decision', decision);
    const answer = await fetch(new URL('/oauth2/authorize', fixture.emulator.url), {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect(answer.status).toBe(302);
    return new URL(answer.headers.get('location')!);
  }

  it('shows a consent page with the first account pre-filled, or the login hint', async () => {
    const auth = new DropboxAuth({ clientId: APP_KEY, fetch: emulatorFetch(fixture.emulator.url) });
    const url = await authorizationRequest(auth, 'state-1');
    const html = await (await fetch(url)).text();
    expect(html).toContain('value="producer@example.com"');
    expect(html).toMatch(/<button[^>]*value="allow"[^>]*>Allow<\/button>/);
    expect(html).toMatch(/<button[^>]*value="deny"[^>]*>Deny<\/button>/);

    url.searchParams.set('login_hint', 'hint@example.com');
    expect(await (await fetch(url)).text()).toContain('value="hint@example.com"');

    url.searchParams.set('client_id', 'someone-else');
    expect((await fetch(url)).status).toBe(400);
  });

  it('approves with PKCE, exchanges the code once, refreshes and revokes', async () => {
    const auth = new DropboxAuth({ clientId: APP_KEY, fetch: emulatorFetch(fixture.emulator.url) });
    const redirect = await decide(await authorizationRequest(auth, 'state-2'), 'allow');
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get('state')).toBe('state-2');
    const code = redirect.searchParams.get('code')!;

    const exchange = (await auth.getAccessTokenFromCode(REDIRECT_URI, code)).result as TokenResult;
    expect(exchange).toMatchObject({
      token_type: 'bearer',
      expires_in: 14400,
      scope: SCOPES.join(' '),
      account_id: fixture.account.account_id,
    });
    expect(exchange.uid).toMatch(/^\d+$/);
    expect(exchange.refresh_token).toBeTruthy();

    const reused = await dropboxError(auth.getAccessTokenFromCode(REDIRECT_URI, code));
    expect(reused.status).toBe(400);
    expect(reused.error).toEqual({ error: 'invalid_grant', error_description: "code doesn't exist or has expired" });

    const dbx = emulatorDropboxClient(fixture.emulator.url, exchange.access_token);
    const me: users.FullAccount = (await dbx.usersGetCurrentAccount()).result;
    expect(me).toMatchObject({ account_id: fixture.account.account_id, email: 'producer@example.com' });

    // The SDK refreshes on its own when it has no access token yet.
    const refreshing = emulatorDropboxClient(fixture.emulator.url, {
      clientId: APP_KEY,
      refreshToken: exchange.refresh_token,
    });
    expect((await refreshing.usersGetCurrentAccount()).result.account_id).toBe(fixture.account.account_id);

    await dbx.authTokenRevoke();
    const revoked = await dropboxError(dbx.usersGetCurrentAccount());
    expect(revoked.status).toBe(401);
    expect(revoked.error).toEqual({
      error_summary: 'invalid_access_token/..',
      error: { '.tag': 'invalid_access_token' },
    });
    const refreshAfterRevoke = await dropboxError(
      emulatorDropboxClient(fixture.emulator.url, {
        clientId: APP_KEY,
        refreshToken: exchange.refresh_token,
      }).usersGetCurrentAccount(),
    );
    expect(refreshAfterRevoke.status).toBe(400);
    expect(refreshAfterRevoke.error).toMatchObject({ error: 'invalid_grant' });
  });

  it('rejects a code exchanged with the wrong PKCE verifier', async () => {
    const auth = new DropboxAuth({ clientId: APP_KEY, fetch: emulatorFetch(fixture.emulator.url) });
    const redirect = await decide(await authorizationRequest(auth, 'state-3'), 'allow');
    auth.setCodeVerifier('not-the-verifier-that-made-the-challenge');
    const wrong = await dropboxError(auth.getAccessTokenFromCode(REDIRECT_URI, redirect.searchParams.get('code')!));
    expect(wrong.status).toBe(400);
    expect(wrong.error).toMatchObject({ error: 'invalid_grant' });
  });

  it('redirects with access_denied when the user denies', async () => {
    const auth = new DropboxAuth({ clientId: APP_KEY, fetch: emulatorFetch(fixture.emulator.url) });
    const redirect = await decide(await authorizationRequest(auth, 'state-4'), 'deny');
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('error_description')).toBeTruthy();
    expect(redirect.searchParams.get('state')).toBe('state-4');
    expect(redirect.searchParams.has('code')).toBe(false);
  });

  it('registers an unknown email as a new account', async () => {
    const auth = new DropboxAuth({ clientId: APP_KEY, fetch: emulatorFetch(fixture.emulator.url) });
    const redirect = await decide(await authorizationRequest(auth, 'state-5'), 'allow', 'newcomer@example.com');
    const tokens = (await auth.getAccessTokenFromCode(REDIRECT_URI, redirect.searchParams.get('code')!))
      .result as TokenResult;
    const account = fixture.emulator.control.accounts().find((candidate) => candidate.email === 'newcomer@example.com');
    expect(tokens.account_id).toBe(account?.account_id);
  });

  it('expires access tokens after their lifetime, and a refresh brings a fresh one', async () => {
    const issued = fixture.emulator.control.issueToken({ account_id: fixture.account.account_id, lifetimeMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const expired = await dropboxError(
      emulatorDropboxClient(fixture.emulator.url, issued.access_token).usersGetCurrentAccount(),
    );
    expect(expired.status).toBe(401);
    expect(expired.error).toEqual({
      error_summary: 'expired_access_token/..',
      error: { '.tag': 'expired_access_token' },
    });

    const unknown = await dropboxError(
      emulatorDropboxClient(fixture.emulator.url, 'sl.nonsense').usersGetCurrentAccount(),
    );
    expect(unknown.error.error_summary).toBe('invalid_access_token/..');

    const refreshed = await fetch(new URL('/oauth2/token', fixture.emulator.url), {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: issued.refresh_token,
        client_id: APP_KEY,
      }),
    });
    const body = (await refreshed.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 14400 });
    const dbx = emulatorDropboxClient(fixture.emulator.url, body.access_token);
    expect((await dbx.usersGetCurrentAccount()).status).toBe(200);

    fixture.emulator.control.expireTokens({ access_token: body.access_token });
    expect((await dropboxError(dbx.usersGetCurrentAccount())).error.error_summary).toBe('expired_access_token/..');
  });

  it('refuses tokens without the scope a route needs', async () => {
    const issued = fixture.emulator.control.issueToken({
      account_id: fixture.account.account_id,
      scope: ['files.metadata.read'],
    });
    const missing = await dropboxError(
      emulatorDropboxClient(fixture.emulator.url, issued.access_token).usersGetCurrentAccount(),
    );
    expect(missing.status).toBe(401);
    expect(missing.error.error).toEqual({ '.tag': 'missing_scope', required_scope: 'account_info.read' });
  });
});

function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_match, code: string) => String.fromCharCode(Number(code)));
}
