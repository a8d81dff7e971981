import { DEFAULT_TUNING } from '../../config/tuning';

/**
 * Domain errors for every Dropbox failure, decided from the HTTP status and the nested `.tag` chain of the
 * error body — never by matching `error_summary` text. Callers branch on the class; jobs use `retryable`.
 */
export abstract class DropboxError extends Error {
  abstract readonly retryable: boolean;
  /** How an HTTP request that hit this error answers (the message is written for the producer). */
  abstract readonly httpStatus: number;
  /** `incorrect_offset` of an upload session: the offset Dropbox holds (values beside the tags, read by the gateway). */
  correctOffset?: number;
  /** `bad_member/…` of add_folder_member: the address (or account id) Dropbox refused. */
  refusedMember?: string;
  /** `bad_path/already_shared` of share_folder: the folder that is shared already. */
  alreadyShared?: { sharedFolderId: string; pathDisplay?: string; previewUrl?: string };

  constructor(
    message: string,
    /** The `.tag` chain, outermost first, e.g. ['path', 'not_found']. */
    readonly tags: string[] = [],
    readonly route?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The address (or account id) Dropbox refused in a `bad_member/…` error of add_folder_member. */
export function refusedMemberOf(err: unknown): string | undefined {
  return err instanceof DropboxError ? err.refusedMember : undefined;
}

/** Something is already at the path (409 …/conflict/…). */
export class DropboxConflict extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 409;
}

/** Nothing at the path or id (409 …/not_found). */
export class DropboxNotFound extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 404;
}

/** 429, or lock contention (`too_many_write_operations`): wait at least `retryAfterMs`. */
export class DropboxRateLimited extends DropboxError {
  readonly retryable = true;
  readonly httpStatus = 503;
  constructor(
    message: string,
    readonly retryAfterMs: number,
    tags: string[] = [],
    route?: string,
  ) {
    super(message, tags, route);
  }
}

/** The connection no longer works (refresh token revoked, invalid token, missing scope): reconnect. */
export class DropboxAuthExpired extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 409;
}

/** 5xx or the network: try again later. */
export class DropboxTransient extends DropboxError {
  readonly retryable = true;
  readonly httpStatus = 503;
}

/** Dropbox refused for good (bad input, plan limits, invalid email…): show `tags` to the user, don't retry. */
export class DropboxPermanent extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 502;
}

/**
 * The Dropbox account is full (`insufficient_space` on uploads, `insufficient_quota` on copies). Not retried: the
 * producer frees space, then retries. The gateway fills in `usage` and the message when it can read them.
 */
export class DropboxStorageFull extends DropboxPermanent {
  usage?: DropboxSpaceUsage;
}

/** `users/get_space_usage`: bytes used and allocated (a team's allocation when the account is in one). */
export interface DropboxSpaceUsage {
  usedBytes: number;
  allocatedBytes: number;
}

/**
 * Dropbox lists the file but won't hand it out: a cloud document (`unsupported_file`), content it restricted
 * (`restricted_content`) or a banned link (`not_allowed`). Not retried; shown as "can't be shared".
 */
export class DropboxUnservable extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 404;
  /** The tag that says why. */
  get reason(): string {
    return UNSERVABLE_TAGS.find((tag) => this.tags.includes(tag)) ?? 'unsupported_file';
  }
}

const UNSERVABLE_TAGS = ['unsupported_file', 'restricted_content', 'not_allowed'];
const SERVING_ROUTES = new Set(['files/get_temporary_link', 'files/download', 'files/download_zip']);

/** What the producer reads beside such a file. */
export const UNSERVABLE_NOTE = "can't be shared (Dropbox can't serve it)";

/**
 * The Dropbox account's email is not verified: no temporary links (`email_not_verified`), no sharing
 * (`email_unverified`). The producer verifies it at Dropbox, then re-checks.
 */
export class DropboxEmailUnverified extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 409;
}

export const EMAIL_UNVERIFIED_MESSAGE = 'Verify your email address at Dropbox to share files';

/**
 * The folder exists but is not in the caller's mounted tree (moved into a team space, or out of their Dropbox):
 * Dropbox answers by id without a path, so nothing can be written into it by path. Not retried until it is back.
 */
export class DropboxFolderUnreachable extends DropboxError {
  readonly retryable = false;
  readonly httpStatus = 409;
  constructor(route?: string) {
    super(FOLDER_UNREACHABLE_MESSAGE, ['folder_not_reachable'], route);
  }
}

export const FOLDER_UNREACHABLE_MESSAGE =
  "This track's Dropbox folder is not reachable (folder not reachable: it was moved outside your Dropbox, e.g. into a team space): move it back, then try again";

/** Our own check failed: the uploaded bytes don't hash to what Dropbox stored. */
export class DropboxIntegrityError extends DropboxError {
  readonly retryable = true;
  readonly httpStatus = 502;
}

/**
 * The `.tag` chain of a Dropbox error union, outermost first. A union member is either nested under its own name
 * (`{".tag":"path","path":{…}}`) or a struct flattened beside the tag, whose cause sits in `reason`
 * (`UploadWriteFailed`: `{".tag":"path","reason":{".tag":"insufficient_space"},"upload_session_id":"…"}`).
 */
export function tagChain(error: unknown): string[] {
  const tags: string[] = [];
  let node: unknown = error;
  for (let depth = 0; depth < 8 && node && typeof node === 'object'; depth += 1) {
    const record = node as Record<string, unknown>;
    const tag = record['.tag'];
    if (typeof tag !== 'string') break;
    tags.push(tag);
    const named = record[tag];
    node = named && typeof named === 'object' ? named : record.reason;
  }
  return tags;
}

interface HeadersLike {
  get(name: string): string | null;
}

export interface RawDropboxFailure {
  status: number;
  headers?: HeadersLike | Record<string, string> | null;
  /** The parsed body: `{ error_summary, error }` for 409/401/429, text otherwise. */
  body: unknown;
}

function header(headers: RawDropboxFailure['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as HeadersLike).get === 'function') return (headers as HeadersLike).get(name) ?? undefined;
  const record = headers as Record<string, string>;
  return record[name] ?? record[name.toLowerCase()];
}

function retryAfterMs(
  failure: RawDropboxFailure,
  errorNode: Record<string, unknown> | undefined,
  defaultMs: number,
): number {
  const fromBody = Number(errorNode?.retry_after);
  const fromHeader = Number(header(failure.headers, 'retry-after'));
  const seconds = Math.max(Number.isFinite(fromBody) ? fromBody : 0, Number.isFinite(fromHeader) ? fromHeader : 0);
  return seconds > 0 ? seconds * 1000 : defaultMs;
}

/** Turns a failed Dropbox response into the domain error that says what to do about it. */
export function mapDropboxFailure(
  failure: RawDropboxFailure,
  route?: string,
  defaultRetryAfterMs = DEFAULT_TUNING.dropbox.defaultRetryAfterMs,
): DropboxError {
  const body = failure.body && typeof failure.body === 'object' ? (failure.body as Record<string, unknown>) : undefined;
  const errorNode = body?.error && typeof body.error === 'object' ? (body.error as Record<string, unknown>) : undefined;
  const tags = tagChain(errorNode);
  const where = route ? ` (${route})` : '';

  if (failure.status === 429) {
    const reason = tagChain(errorNode?.reason);
    return new DropboxRateLimited(
      `Dropbox asked us to slow down${where}`,
      retryAfterMs(failure, errorNode, defaultRetryAfterMs),
      reason,
      route,
    );
  }
  if (failure.status === 401) {
    return new DropboxAuthExpired(
      `Dropbox no longer accepts this connection: ${tags.join('/') || 'unauthorized'}`,
      tags,
      route,
    );
  }
  if (failure.status === 409) {
    if (tags.includes('too_many_write_operations')) {
      return new DropboxRateLimited(
        `Dropbox is busy with another write${where}`,
        retryAfterMs(failure, errorNode, defaultRetryAfterMs),
        tags,
        route,
      );
    }
    // Dropbox's own hiccup inside a job or check route: try again, like a 5xx.
    if (tags[0] === 'internal_error') return new DropboxTransient(`Dropbox had an internal error${where}`, tags, route);
    if (tags.includes('email_not_verified') || tags.includes('email_unverified')) {
      return new DropboxEmailUnverified(`${EMAIL_UNVERIFIED_MESSAGE}${where}`, tags, route);
    }
    // Only where bytes are asked for: elsewhere these tags are ordinary refusals (a lookup of restricted content).
    if (route && SERVING_ROUTES.has(route) && UNSERVABLE_TAGS.some((tag) => tags.includes(tag))) {
      return new DropboxUnservable(`Dropbox can't serve this file${where}: ${tags.join('/')}`, tags, route);
    }
    if (tags.includes('insufficient_space') || tags.includes('insufficient_quota')) {
      return new DropboxStorageFull(`Your Dropbox is full${where}: free some space, then Retry`, tags, route);
    }
    if (tags.includes('conflict'))
      return new DropboxConflict(`already exists in Dropbox${where}: ${tags.join('/')}`, tags, route);
    if (tags.includes('not_found'))
      return new DropboxNotFound(`not found in Dropbox${where}: ${tags.join('/')}`, tags, route);
    return new DropboxPermanent(`Dropbox refused${where}: ${tags.join('/') || 'unknown error'}`, tags, route);
  }
  if (failure.status >= 500)
    return new DropboxTransient(`Dropbox is having trouble (${failure.status})${where}`, [], route);
  const text = typeof failure.body === 'string' ? failure.body.slice(0, 200) : '';
  return new DropboxPermanent(
    `Dropbox rejected the request (${failure.status})${where}${text ? `: ${text}` : ''}`,
    ['bad_request'],
    route,
  );
}
