/**
 * Errors answered in Dropbox's wire format. Route handlers throw these; the server turns them into responses, so
 * every status, body and header shape lives here and nowhere else.
 */

/** A Stone union value as it travels on the wire: `{".tag": name, ...}`. */
export interface Union {
  '.tag': string;
  [field: string]: unknown;
}

export class DropboxApiError extends Error {
  constructor(
    readonly status: number,
    /** A string is sent as text/plain, anything else as JSON. */
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

/** `u('path', u('not_found'))` → `{".tag":"path","path":{".tag":"not_found"}}`. */
export function u(tag: string, value?: unknown): Union {
  return value === undefined ? { '.tag': tag } : { '.tag': tag, [tag]: value };
}

/** `"path/conflict/file"` → the nested union, for fault injection and tests. */
export function unionFromTagPath(tagPath: string): Union {
  const tags = tagPath.split('/').filter((tag) => tag.length > 0);
  if (tags.length === 0) throw new Error('empty error tag');
  return tags.reduceRight<Union | undefined>((inner, tag) => u(tag, inner), undefined) as Union;
}

/**
 * Dropbox's `error_summary`: the chain of tags joined by "/" and a trailing "/..". The chain follows the member
 * named like the tag (a nested union) or else a `reason` member (a struct flattened into the union, e.g.
 * `UploadWriteFailed.reason` → `path/conflict/file/..`; a 429's RateLimitError → `too_many_requests/..`).
 */
export function errorSummary(error: unknown): string {
  const tags: string[] = [];
  let node: unknown = error;
  while (isObject(node)) {
    const tag = node['.tag'];
    if (typeof tag === 'string') tags.push(tag);
    const named = typeof tag === 'string' ? node[tag] : undefined;
    node = isObject(named) ? named : node.reason;
  }
  return `${tags.join('/')}/..`;
}

/** 409: an endpoint-specific error. */
export function routeError(error: Union): DropboxApiError {
  return new DropboxApiError(409, { error_summary: errorSummary(error), error });
}

/** 400: malformed request; Dropbox answers these in plain text. */
export function badRequest(route: string, detail: string): DropboxApiError {
  return new DropboxApiError(400, `Error in call to API function "${route}": ${detail}`);
}

/** 401: `invalid_access_token`, `expired_access_token`, `missing_scope`… */
export function authError(error: Union): DropboxApiError {
  return new DropboxApiError(401, { error_summary: errorSummary(error), error });
}

export type RateLimitReason = 'too_many_requests' | 'too_many_write_operations';

/** 429 with Retry-After; the body is a RateLimitError struct (reason + retry_after). */
export function rateLimitError(reason: RateLimitReason, retryAfterSeconds: number): DropboxApiError {
  const error = { reason: u(reason), retry_after: retryAfterSeconds };
  return new DropboxApiError(
    429,
    { error_summary: `${reason}/..`, error },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

/**
 * A failure of a namespace operation, before it is wrapped in the calling route's own error union: a lookup
 * failure becomes `path`, `path_lookup` or `from_lookup` depending on the route, a write failure `path`,
 * `path_write` or `to`; `other` is already the route-level union (e.g. `cant_move_folder_into_itself`).
 */
export class OperationFailure extends Error {
  constructor(
    readonly kind: 'lookup' | 'write' | 'other',
    readonly reason: Union,
  ) {
    super(errorSummary(reason));
  }
}

export const lookupFailure = (tag: string, value?: unknown) => new OperationFailure('lookup', u(tag, value));
export const conflictFailure = (what: 'file' | 'folder' | 'file_ancestor') =>
  new OperationFailure('write', u('conflict', u(what)));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
