import { setTimeout as sleep } from 'node:timers/promises';
import { DropboxApiError, Union, errorSummary, rateLimitError, unionFromTagPath } from './errors';

/**
 * The fault route of temporary link fetches (`GET /_tl/<token>/…`). `*` does not include it: a fault meant for
 * API calls must not also break the downloads a test only reads back, so a link fault is asked for by name.
 */
export const TEMP_LINK_ROUTE = 'temp_link';

/** A failure (or delay) to inject into matching API calls, or into temporary link fetches (`temp_link`). */
export interface FaultSpec {
  /** An API route such as `files/upload`, `*` for every API route, or `temp_link` for temporary link fetches. */
  route: string;
  /**
   * Only calls of this account match; every account when absent. Temporary links don't record their account, so
   * a `temp_link` fault with an account never matches.
   */
  accountId?: string;
  /**
   * Status to answer. Defaults to 409 when `errorTag`/`error` is given, else to 500 when `body` is given; with
   * none of them the fault only delays the call (`latencyMs`). A `temp_link` fault answers it with a short text
   * body (`body` when it is a string) instead of the file, like Dropbox's content hosts.
   */
  status?: number;
  /**
   * Shorthand for the error union as a tag chain: `path/not_found` → `{".tag":"path","path":{".tag":"not_found"}}`.
   * For 429 the rate-limit reason (`too_many_requests` by default), for 401 the auth error tag.
   */
  errorTag?: string;
  /** The full error union (wrapped with its `error_summary`), for errors carrying values. */
  error?: Union;
  /** A raw body (JSON value, or a string sent as text/plain), replacing the generated one. */
  body?: unknown;
  /** Seconds for the Retry-After header (and a 429's `retry_after`). 429s default to 1. */
  retryAfterSeconds?: number;
  /** Delay before answering (or before running the call, for a delay-only fault). */
  latencyMs?: number;
  /**
   * The matching calls wait (after `latencyMs`) until the fault is released (`releaseFault`, `removeFault`,
   * `clearFaults`, or the emulator closing), then go on as the rest of the fault says: a call kept in flight for
   * exactly as long as a test needs, however slow the machine.
   */
  hold?: boolean;
  /** Chance that a matching call is hit, 0..1. Default 1. */
  probability?: number;
  /** Hit only the next N matching calls, then disappear. Unlimited when absent. */
  times?: number;
  /**
   * `temp_link` only: the answer starts normally (200/206 with the full Content-Length), then the connection is
   * closed after this many body bytes — a download cut halfway. An answer no longer than that arrives whole.
   */
  cutAfterBytes?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  /** Calls this fault has hit so far. */
  hits: number;
}

export class FaultRegistry {
  private faults: Fault[] = [];
  private nextId = 1;
  /** The gates of holding faults, kept after the fault is used up until it is released. */
  private readonly holds = new Map<
    string,
    { opened: Promise<void>; open: () => void; arrived: Promise<void>; arrive: () => void }
  >();

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: `fault-${this.nextId++}`, hits: 0 };
    this.faults.push(fault);
    if (fault.hold) {
      let open!: () => void;
      let arrive!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      this.holds.set(fault.id, { opened, open, arrived, arrive });
    }
    return fault;
  }

  /** What the fault a call took makes it wait before it is answered: its latency, then its hold until released. */
  async delay(fault: Fault | undefined): Promise<void> {
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.hold) await this.holds.get(fault.id)?.opened;
  }

  /** Resolves once a holding fault holds a call (at once for a fault that holds nothing). */
  arrived(id: string): Promise<void> {
    return this.holds.get(id)?.arrived ?? Promise.resolve();
  }

  /** Lets the calls a holding fault keeps (and any later ones) go on, and removes the fault. */
  release(id: string): boolean {
    const held = this.holds.has(id);
    return this.remove(id) || held;
  }

  /** Releases every held call (the emulator is closing, or the faults are cleared). */
  releaseAll(): void {
    for (const gate of this.holds.values()) gate.open();
    this.holds.clear();
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** Removes the fault; calls it holds go on (a removed fault holds nothing). */
  remove(id: string): boolean {
    this.holds.get(id)?.open();
    this.holds.delete(id);
    return this.drop(id);
  }

  /** Takes the fault off the list; a used-up holding fault still holds the calls it took until released. */
  private drop(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
    this.releaseAll();
  }

  /** The first fault that hits this call (used up if it was limited to N calls). */
  take(route: string, accountId: string | undefined): Fault | undefined {
    const fault = this.faults.find(
      (candidate) =>
        (candidate.route === route || (candidate.route === '*' && route !== TEMP_LINK_ROUTE)) &&
        (!candidate.accountId || candidate.accountId === accountId) &&
        Math.random() < (candidate.probability ?? 1),
    );
    if (!fault) return undefined;
    fault.hits++;
    this.holds.get(fault.id)?.arrive();
    if (fault.times !== undefined && fault.hits >= fault.times) this.drop(fault.id);
    return fault;
  }
}

/**
 * Routes whose error union carries a struct flattened beside the tag: `UploadError.path` is `UploadWriteFailed
 * {reason: WriteError, upload_session_id}`, so `path/insufficient_space` travels as
 * `{".tag":"path","reason":{".tag":"insufficient_space"},"upload_session_id":"…"}`.
 */
const FLATTENED_PATH_ROUTES = new Set(['files/upload']);

/**
 * The error a fault answers with, or undefined for a delay-only fault. `uploadSession` opens the session that a
 * refused `files/upload` names (Dropbox keeps the refused bytes there).
 */
export function faultError(fault: FaultSpec, uploadSession?: () => string): DropboxApiError | undefined {
  const hasError = fault.errorTag !== undefined || fault.error !== undefined;
  const status = fault.status ?? (hasError ? 409 : fault.body !== undefined ? 500 : undefined);
  if (status === undefined) return undefined;
  const headers: Record<string, string> =
    fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
  if (fault.body !== undefined) return new DropboxApiError(status, fault.body, headers);
  if (status === 429) {
    const reason = fault.errorTag === 'too_many_write_operations' ? fault.errorTag : 'too_many_requests';
    return rateLimitError(reason, fault.retryAfterSeconds ?? 1);
  }
  if (hasError) {
    const error = fault.error ?? faultUnion(fault, uploadSession);
    return new DropboxApiError(status, { error_summary: errorSummary(error), error }, headers);
  }
  return new DropboxApiError(status, status >= 500 ? 'Internal Server Error' : `Error ${status}`, headers);
}

function faultUnion(fault: FaultSpec, uploadSession?: () => string): Union {
  const [first, ...rest] = fault.errorTag!.split('/').filter((tag) => tag.length > 0);
  if (first === 'path' && rest.length > 0 && FLATTENED_PATH_ROUTES.has(fault.route) && uploadSession) {
    return { '.tag': 'path', reason: unionFromTagPath(rest.join('/')), upload_session_id: uploadSession() };
  }
  return unionFromTagPath(fault.errorTag!);
}

/** How one entry of a batch copy fails (RelocationBatchErrorEntry): a lock, Dropbox itself, or too many files. */
export type CopyEntryFailure = 'too_many_write_operations' | 'internal_error' | 'too_many_files';

/**
 * Entry faults of `copy_batch_v2`: the next `count` entries copied (of an account, or of any) fail with `failure`
 * instead of being copied; the rest of the batch succeeds, as Dropbox reports per entry.
 */
export class CopyEntryFaults {
  private faults: Array<{ failure: CopyEntryFailure; left: number; accountId?: string }> = [];

  add(failure: CopyEntryFailure, count: number, accountId?: string): void {
    this.faults.push({ failure, left: count, accountId });
  }

  clear(): void {
    this.faults = [];
  }

  /** The failure for the next entry, if one is due. */
  take(accountId: string): CopyEntryFailure | undefined {
    const fault = this.faults.find((f) => f.left > 0 && (!f.accountId || f.accountId === accountId));
    if (!fault) return undefined;
    fault.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    return fault.failure;
  }
}

export function copyEntryFailure(failure: CopyEntryFailure): Union {
  return failure === 'too_many_files'
    ? { '.tag': 'relocation_error', relocation_error: { '.tag': 'too_many_files' } }
    : { '.tag': failure };
}
