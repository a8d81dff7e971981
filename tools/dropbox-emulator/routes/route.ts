import { IncomingMessage } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { Args } from '../args';
import { Emulator } from '../emulator';
import { ByteRange } from '../http-io';
import { Namespace } from '../namespace';
import { AccountRecord } from '../state';

/** One authenticated API call, as a route handler sees it. */
export interface ApiCall {
  route: string;
  emulator: Emulator;
  account: AccountRecord;
  namespace: Namespace;
  /** The JSON arguments: the body of an RPC call, the `Dropbox-API-Arg` header of a content call. */
  args: Args;
  /** Upload routes stream their body from here. */
  req: IncomingMessage;
  /** The bearer token's grant (auth/token/revoke revokes it). */
  refreshToken: string;
}

export type ApiResult =
  | { kind: 'json'; body: unknown }
  /** A download: the bytes of a blob, with the result metadata in `Dropbox-API-Result`. */
  | { kind: 'download'; apiResult: unknown; size: number; open: (range?: ByteRange) => Readable }
  /** Generated content of unknown length (download_zip). */
  | { kind: 'stream'; apiResult: unknown; contentType: string; write: (out: Writable) => Promise<void> };

export interface ApiRoute {
  /** rpc: JSON body; upload: args in the header, bytes in the body; download: args in the header, bytes back. */
  style: 'rpc' | 'upload' | 'download';
  /** The OAuth scope the token must hold. */
  scope?: string;
  /** Changes the namespace: counted for write concurrency and locked in strict mode. */
  write?: boolean;
  /**
   * Which member of the route's error union wraps namespace failures: e.g. `path` for get_metadata,
   * `path_lookup`/`path_write` for delete_v2. Handlers with richer error unions wrap failures themselves.
   */
  failures?: { lookup?: string; write?: string };
  handle(call: ApiCall): Promise<ApiResult> | ApiResult;
}

export const json = (body: unknown): ApiResult => ({ kind: 'json', body });

/** Cursors are opaque to clients: base64url JSON. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string): T | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
