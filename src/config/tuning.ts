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
    /** A 429 or lock contention that names no Retry-After waits this long. */
    defaultRetryAfterMs: number;
    /** First pause before polling an async job's check route (most jobs finish in a moment), doubled each poll… */
    asyncPollFirstMs: number;
    /** …up to this. */
    asyncPollMaxMs: number;
  };
  jobs: {
    /** Tries of one job (the first one included) before it fails for good. */
    attempts: number;
    /** Exponential backoff between tries of a job: this, twice this, four times… */
    backoffMs: number;
  };
  notifications: {
    /** Tries of one webhook delivery (the first one included) before it is given up and logged as failed. */
    webhookAttempts: number;
    /** Exponential backoff between webhook tries: this, twice this, four times… */
    webhookBackoffMs: number;
    /** A receiver that has not answered in this long counts as a failed try. */
    webhookTimeoutMs: number;
    /** At most one email per share in this long: later events wait for the next digest. */
    digestWindowMs: number;
    /** The first email of a quiet share waits this long, so an open and the listens after it arrive together. */
    digestGatherMs: number;
  };
  collaboration: {
    /** The sweep (lost runs re-queued, ends found, member states refreshed) runs at least this often, however
     *  long COLLAB_REFRESH_SECONDS is. */
    maxSweepIntervalMs: number;
    /** An expiry job finding a run of its pipeline still going looks again after this long (no attempt used). */
    expiryRecheckMs: number;
    /** In place of COLLAB_STUCK_SECONDS, whose 5 s minimum suits people but not specs that wait a run out.
     *  Unset (production): the variable. */
    stuckMs?: number;
    /** In place of COLLAB_REFRESH_SECONDS (also at least 5 s), likewise. Unset (production): the variable. */
    refreshMs?: number;
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
    defaultRetryAfterMs: 1_000,
    asyncPollFirstMs: 100,
    asyncPollMaxMs: 2_000,
  },
  jobs: {
    attempts: 8,
    backoffMs: 5_000,
  },
  notifications: {
    webhookAttempts: 8,
    webhookBackoffMs: 10_000,
    webhookTimeoutMs: 10_000,
    digestWindowMs: 10 * 60_000,
    digestGatherMs: 60_000,
  },
  collaboration: {
    maxSweepIntervalMs: 60_000,
    expiryRecheckMs: 5_000,
  },
};

export type TuningOverrides = { [K in keyof Tuning]?: Partial<Tuning[K]> };

export function tuningWith(overrides: TuningOverrides = {}): Tuning {
  return {
    dropbox: { ...DEFAULT_TUNING.dropbox, ...overrides.dropbox },
    jobs: { ...DEFAULT_TUNING.jobs, ...overrides.jobs },
    notifications: { ...DEFAULT_TUNING.notifications, ...overrides.notifications },
    collaboration: { ...DEFAULT_TUNING.collaboration, ...overrides.collaboration },
  };
}

export const TUNING = Symbol('TUNING');
