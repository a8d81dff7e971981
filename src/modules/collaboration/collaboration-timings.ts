import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';

/**
 * The waits of share with collaborators, read in one place: COLLAB_STUCK_SECONDS and COLLAB_REFRESH_SECONDS
 * (unless the tuning replaces them, as specs do to go below their 5 s minimum) and the tuning's own timings.
 */
@Injectable()
export class CollaborationTimings {
  /** A running pipeline whose last step moved longer ago than this is stuck. */
  readonly stuckMs: number;
  /** Member states older than this are refreshed by the sweep. */
  readonly refreshMs: number;
  /** How often the sweep runs: with the refresh, but at least as often as the tuning's maximum (re-queueing lost
   *  runs and finding ends shouldn't wait for a long refresh interval). */
  readonly sweepEveryMs: number;
  /** An expiry job finding a run of its pipeline still going looks again after this long. */
  readonly expiryRecheckMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(TUNING) tuning: Tuning) {
    const t = tuning.collaboration;
    this.stuckMs = t.stuckMs ?? config.collaboration.stuckMs;
    this.refreshMs = t.refreshMs ?? config.collaboration.refreshMs;
    this.sweepEveryMs = Math.min(this.refreshMs, t.maxSweepIntervalMs);
    this.expiryRecheckMs = t.expiryRecheckMs;
  }
}
