/**
 * Internal timings that are not worth an environment variable but that tests shrink (so a retry test takes
 * milliseconds, not the seconds production waits). Production always runs the defaults.
 */
export interface Tuning {
  dropbox: {
    /** Tries of one gateway call before the failure goes to its caller (a job retries later). */
    maxAttempts: number;
    baseBackoffMs: number;
    maxBackoffMs: number;
    /** A Retry-After longer than this is not waited out in-process: the caller gets DropboxRateLimited. */
    maxInlineWaitMs: number;
    /** How long a write waits for the account's write slot. */
    writeSlotWaitMs: number;
    /** A Dropbox API call (RPC) without an answer for this long fails as a network error and is retried. */
    rpcTimeoutMs: number;
    /** The same for content calls (upload chunks, downloads). */
    contentTimeoutMs: number;
  };
}

export const DEFAULT_TUNING: Tuning = {
  dropbox: {
    maxAttempts: 5,
    baseBackoffMs: 500,
    maxBackoffMs: 30_000,
    maxInlineWaitMs: 60_000,
    writeSlotWaitMs: 10 * 60_000,
    rpcTimeoutMs: 30_000,
    contentTimeoutMs: 5 * 60_000,
  },
};

export type TuningOverrides = { [K in keyof Tuning]?: Partial<Tuning[K]> };

export function tuningWith(overrides: TuningOverrides = {}): Tuning {
  return { dropbox: { ...DEFAULT_TUNING.dropbox, ...overrides.dropbox } };
}

export const TUNING = Symbol('TUNING');
