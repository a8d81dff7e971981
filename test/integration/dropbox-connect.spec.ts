import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { startTestApp, TestApp } from '../support/app';
import { connectThroughConsent, dropboxEnv, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

describe('connecting Dropbox in Settings (OAuth code flow with PKCE, against the emulator)', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: TestUser;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({ env: dropboxEnv(emulator) });
    producer = await signedInUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const connections = () =>
    t.app
      .get(MikroORM)
      .em.fork()
      .find(DropboxConnection, {}, { populate: ['refreshTokenSealed', 'accessTokenSealed'] });

  async function rawRows(): Promise<Array<Record<string, unknown>>> {
    const pg = new Client({ connectionString: t.databaseUrl });
    await pg.connect();
    try {
      return (await pg.query('select * from dropbox_connections')).rows;
    } finally {
      await pg.end();
    }
  }

  it('shows the Connect button and prompts on Tracks until connected', async () => {
    const settings = await producer.browser.get('/settings');
    expect(settings.text).toContain('Connect Dropbox');
    const tracks = await producer.browser.get('/tracks');
    expect(tracks.text).toContain('Connect your Dropbox first');
  });

  it('stores nothing when the producer denies consent, and says so', async () => {
    const { authorize, callback } = await connectThroughConsent(producer.browser, emulator, {
      email: 'ana@dropbox.test',
      decision: 'deny',
    });
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('token_access_type')).toBe('offline');
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['files.content.write', 'sharing.write']),
    );
    expect(callback.status).toBe(303);
    const page = await producer.browser.get('/settings');
    expect(page.text).toContain('Dropbox access was not granted');
    expect(await connections()).toHaveLength(0);
  });

  it('refuses a callback whose state does not match, storing nothing', async () => {
    const start = await producer.browser.submit('/settings', '/settings/dropbox/connect', {});
    const authorize = new URL(start.headers.location);
    const consent = await fetch(`${emulator.url}/oauth2/authorize`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...Object.fromEntries(authorize.searchParams),
        email: 'ana@dropbox.test',
        decision: 'allow',
      }),
      redirect: 'manual',
    });
    const back = new URL(consent.headers.get('location')!);
    back.searchParams.set('state', 'forged-state');
    await producer.browser.get(back.pathname + back.search);
    expect((await producer.browser.get('/settings')).text).toContain('no longer valid');
    expect(await connections()).toHaveLength(0);
  });

  it('connects: account stored, refresh token sealed at rest, panel shows who', async () => {
    const { callback } = await connectThroughConsent(producer.browser, emulator, { email: 'ana@dropbox.test' });
    expect(callback.headers.location).toBe('/settings#dropbox');
    const page = await producer.browser.get('/settings');
    expect(page.text).toContain('Dropbox connected');
    expect(page.text).toContain('ana@dropbox.test');
    expect(page.text).toContain('healthy');

    const [row] = await rawRows();
    const account = emulator.control.accounts().find((a) => a.email === 'ana@dropbox.test')!;
    expect(row.account_id).toBe(account.account_id);
    expect(String(row.refresh_token_sealed)).toMatch(/^v1\./);
    // The real tokens never sit in the table in clear.
    const issued = emulator.control.issueToken({ account_id: account.account_id });
    expect(JSON.stringify(row)).not.toContain(issued.refresh_token.slice(0, 12));

    const api = await producer.browser.agent.get('/api/v1/dropbox');
    expect(api.body).toMatchObject({ connected: true, status: 'active', email: 'ana@dropbox.test' });
  });

  it('refuses a code that was already used', async () => {
    const first = await connectThroughConsent(producer.browser, emulator, { email: 'ana@dropbox.test' });
    const before = (await rawRows())[0].refresh_token_sealed;
    // Replaying the same callback: the session's attempt is gone and Dropbox would refuse the code anyway.
    await producer.browser.get(first.back.pathname + first.back.search);
    expect((await producer.browser.get('/settings')).text).toContain('no longer valid');
    expect((await rawRows())[0].refresh_token_sealed).toBe(before);

    // Even with a valid attempt in hand, Dropbox refuses the spent code, and the producer is told so.
    const service = t.app.get(DropboxConnectionsService);
    const { pending } = service.startAuthorization();
    await expect(
      service.completeAuthorization(producer.id, pending, {
        code: first.back.searchParams.get('code')!,
        state: pending.state,
      }),
    ).rejects.toThrow(/already used or has expired/);
    expect((await rawRows())[0].refresh_token_sealed).toBe(before);
  });

  it('disconnects: revokes the token at Dropbox and forgets it', async () => {
    const [connection] = await connections();
    expect(connection).toBeDefined();
    // The Disconnect button asks first (a page, no JavaScript needed); unconfirmed, nothing changes.
    const asked = await producer.browser.submit('/settings', '/settings/dropbox/disconnect', {});
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('Disconnect Dropbox?');
    expect(asked.text).toContain('name="confirm" value="yes"');
    expect(await connections()).toHaveLength(1);
    const res = await producer.browser.submit('/settings', '/settings/dropbox/disconnect', { confirm: 'yes' });
    expect(res.status).toBe(303);
    expect(await connections()).toHaveLength(0);
    expect(emulator.control.counters().callsByRoute['auth/token/revoke']).toBeGreaterThanOrEqual(1);
    expect((await producer.browser.get('/settings')).text).toContain('Dropbox disconnected');
  });

  it('reconnects after a disconnect', async () => {
    await connectThroughConsent(producer.browser, emulator, { email: 'ana@dropbox.test' });
    expect(await connections()).toHaveLength(1);
  });

  it('keeps other producers out: their settings show no connection', async () => {
    const other = await signedInUser(t);
    const api = await other.browser.agent.get('/api/v1/dropbox');
    expect(api.body).toEqual({ connected: false, configured: true });
  });
});
