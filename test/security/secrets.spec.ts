import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startDropboxEmulator, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { WebClient } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { connectThroughConsent, TEST_APP_KEY } from '../support/dropbox';
import { deleteRedisPrefix, testRedisUrl, uniqueRedisPrefix } from '../support/redis';
import { ServerProcess, startServerProcess } from '../support/server-process';

/**
 * The real server as its own process at debug level, so everything it logs is captured; then every token the
 * emulator ever issued is looked for in the logs and in the database.
 */
describe('security: Dropbox tokens never reach the logs or the database in clear', () => {
  let emulator: RunningDropboxEmulator;
  let emulatorDir: string;
  let database: TestDatabase;
  let server: ServerProcess;
  const logs = () => server.output();
  let baseUrl: string;
  const prefix = uniqueRedisPrefix();

  beforeAll(async () => {
    emulatorDir = mkdtempSync(join(tmpdir(), 'pd-secrets-emulator-'));
    emulator = await startDropboxEmulator({
      appKey: TEST_APP_KEY,
      dataDir: emulatorDir,
      accessTokenLifetimeMs: 4 * 3600_000,
    });
    database = await createTestDatabase();
    server = await startServerProcess({
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'trace',
      DROPBOX_APP_KEY: TEST_APP_KEY,
      DROPBOX_API_URL: emulator.url,
      DROPBOX_CONTENT_URL: emulator.url,
      DROPBOX_AUTHORIZE_URL: `${emulator.url}/oauth2/authorize`,
      SPOOL_DIR: join(emulatorDir, 'spool'),
    });
    baseUrl = server.url;
  });

  afterAll(async () => {
    await server?.stop();
    await emulator?.close().catch(() => undefined); // already closed by the test when it got that far
    await database?.drop();
    await deleteRedisPrefix(prefix).catch(() => undefined);
    rmSync(emulatorDir, { recursive: true, force: true });
  });

  it('uses tokens (connect, a refresh after Dropbox expires the access token, disconnect) without logging them', async () => {
    const browser = new WebClient(baseUrl);
    await browser.setupAdmin();
    const { callback } = await connectThroughConsent(browser, emulator, { email: 'logs@dropbox.test' });
    expect(callback.status).toBe(303);
    const csrf = await browser.csrfFrom('/settings');
    // Dropbox forgets the access token: the next call is refused, the server refreshes and retries.
    emulator.control.expireTokens({});
    const created = await browser.agent.post('/api/v1/tracks').set('X-CSRF-Token', csrf).send({ title: 'Token trail' });
    expect(created.status).toBe(201);

    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    const rows = JSON.stringify((await pg.query('select * from dropbox_connections')).rows);
    await pg.end();

    await browser.submit('/settings', '/settings/dropbox/disconnect', { confirm: 'yes' });
    await new Promise((r) => setTimeout(r, 500)); // let the last log lines flush
    await emulator.close();
    const state = JSON.parse(readFileSync(join(emulatorDir, 'state.json'), 'utf8')) as {
      grants: Array<{ refreshToken: string }>;
      accessTokens: Array<{ token: string }>;
    };
    const tokens = [...state.grants.map((g) => g.refreshToken), ...state.accessTokens.map((a) => a.token)];
    expect(tokens.length).toBeGreaterThanOrEqual(3); // refresh token, first and refreshed access tokens
    expect(logs()).toContain('refreshed Dropbox access token'); // the refresh really happened and was logged

    for (const token of tokens) {
      expect({ inLogs: logs().includes(token) }).toEqual({ inLogs: false });
      expect({ inDatabase: rows.includes(token) }).toEqual({ inDatabase: false });
    }
    expect(rows).toMatch(/"refresh_token_sealed":"v1\./);
    // Cookies and credentials headers are redacted too.
    expect(logs()).not.toMatch(/pd\.sid=s%3A/);
  });
});
