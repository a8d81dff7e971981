import { EntityManager } from '@mikro-orm/postgresql';
import { connectionGrant, startDropboxEmulator, RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import type { DropboxEmulatorOptions } from '../../tools/dropbox-emulator';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import type { TestApp, WebClient } from './app';

export const TEST_APP_KEY = 'pd-test-app';

export function startTestEmulator(options: DropboxEmulatorOptions = {}): Promise<RunningDropboxEmulator> {
  return startDropboxEmulator({ appKey: TEST_APP_KEY, ...options });
}

/** The app's Dropbox settings pointing at an emulator. */
export function dropboxEnv(emulator: RunningDropboxEmulator): Record<string, string> {
  return {
    DROPBOX_APP_KEY: TEST_APP_KEY,
    DROPBOX_API_URL: emulator.url,
    DROPBOX_CONTENT_URL: emulator.url,
    DROPBOX_AUTHORIZE_URL: `${emulator.url}/oauth2/authorize`,
  };
}

/**
 * Walks the OAuth round trip as a browser would: the app's Connect button, the emulator's consent page
 * (allow or deny as `email`), and Dropbox's redirect back to the app's callback. Returns the callback's answer.
 */
export async function connectThroughConsent(
  browser: WebClient,
  emulator: RunningDropboxEmulator,
  { email, decision = 'allow' }: { email: string; decision?: 'allow' | 'deny' },
) {
  const start = await browser.submit('/settings', '/settings/dropbox/connect', {});
  if (start.status !== 303) throw new Error(`connect answered ${start.status}`);
  const authorize = new URL(start.headers.location);
  if (!authorize.href.startsWith(emulator.url)) throw new Error(`connect redirected to ${authorize.href}`);
  const consent = await fetch(`${emulator.url}/oauth2/authorize`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...Object.fromEntries(authorize.searchParams), email, decision }).toString(),
    redirect: 'manual',
  });
  const back = new URL(consent.headers.get('location') ?? '');
  const callback = await browser.get(back.pathname + back.search);
  return { authorize, back, callback };
}

/**
 * A connection stored directly (tokens issued by the emulator's control API), for tests about the gateway
 * rather than about OAuth.
 */
export async function seedConnection(
  t: TestApp,
  emulator: RunningDropboxEmulator,
  user: { id: string },
  account: { email: string; accessTokenLifetimeMs?: number },
): Promise<DropboxConnection> {
  const registered =
    emulator.control.accounts().find((a) => a.email === account.email) ??
    emulator.control.registerAccount({ email: account.email });
  const issued = emulator.control.issueToken({
    account_id: registered.account_id,
    lifetimeMs: account.accessTokenLifetimeMs,
  });
  await t.app.get(DropboxConnectionsService).store(user.id, connectionGrant(registered, issued));
  const connection = await t.app.get(EntityManager).fork().findOneOrFail(DropboxConnection, { user: user.id });
  return connection;
}
