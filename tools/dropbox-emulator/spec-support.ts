import { Dropbox, DropboxResponseError } from 'dropbox';
import {
  DropboxEmulatorOptions,
  EmulatorAccount,
  RunningDropboxEmulator,
  emulatorDropboxClient,
  startDropboxEmulator,
} from './index';

/** Shared by the emulator's specs: a running emulator with one account and an SDK client signed in as it. */
export interface EmulatorFixture {
  emulator: RunningDropboxEmulator;
  account: EmulatorAccount;
  accessToken: string;
  dbx: Dropbox;
}

export async function startFixture(options: DropboxEmulatorOptions = {}): Promise<EmulatorFixture> {
  const emulator = await startDropboxEmulator(options);
  const account = emulator.control.registerAccount({ email: 'producer@example.com', display_name: 'Pat Producer' });
  const { access_token: accessToken } = emulator.control.issueToken({ account_id: account.account_id });
  return { emulator, account, accessToken, dbx: emulatorDropboxClient(emulator.url, accessToken) };
}

/** A route error's body as the SDK hands it over in `DropboxResponseError.error`. */
export interface RouteError<E> {
  error_summary: string;
  error: E;
}

/** The SDK's error for a call that must fail, typed with the route's error union. */
export async function dropboxError<E = unknown>(call: Promise<unknown>): Promise<DropboxResponseError<RouteError<E>>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof DropboxResponseError) return error as DropboxResponseError<RouteError<E>>;
    throw error;
  }
  throw new Error('expected the call to fail');
}
