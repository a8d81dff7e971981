import { Dropbox, DropboxAuth, DropboxAuthOptions } from 'dropbox';
import nodeFetch, { RequestInfo, RequestInit, Response } from 'node-fetch';

const DROPBOX_API_HOSTS = /^https:\/\/(api|content|notify)\.dropboxapi\.com(?=\/|$)/;

/**
 * A fetch for the Dropbox SDK that sends its requests to the emulator instead of Dropbox's API hosts. It is
 * node-fetch underneath (the SDK needs `res.buffer()` for downloads), so tests take the code path production
 * takes with only the host swapped.
 */
export function emulatorFetch(emulatorUrl: string): (url: RequestInfo, init?: RequestInit) => Promise<Response> {
  const base = emulatorUrl.replace(/\/$/, '');
  return (url, init) => nodeFetch(typeof url === 'string' ? url.replace(DROPBOX_API_HOSTS, base) : url, init);
}

/**
 * An SDK client talking to the emulator: pass an access token, or full auth options (refresh token, client id…);
 * `pathRoot` is the SDK's own option (the `Dropbox-API-Path-Root` header, JSON of common.PathRoot).
 */
export function emulatorDropboxClient(
  emulatorUrl: string,
  auth: string | DropboxAuthOptions,
  sdk: { pathRoot?: string } = {},
): Dropbox {
  const options = typeof auth === 'string' ? { accessToken: auth } : auth;
  return new Dropbox({ auth: new DropboxAuth({ ...options, fetch: emulatorFetch(emulatorUrl) }), ...sdk });
}
