import type { async } from 'dropbox';
import { routeError, u } from './errors';
import { newJobId } from './ids';

export type JobKind = 'copy_batch' | 'share_folder' | 'remove_member' | 'unshare_folder';

export interface JobRecord {
  id: string;
  accountId: string;
  kind: JobKind;
  /** How many more polls answer `in_progress` before the result shows. */
  pollsLeft: number;
  /** The union the check route answers when the job is done (`{".tag":"complete",…}` or `failed`). */
  result: unknown;
}

/**
 * Async jobs. The work itself is done when the job is launched (the namespace changes right away, as Dropbox's
 * often does); polling only reveals the result after a configurable number of `in_progress` answers, which is
 * what clients must cope with.
 */
export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(records: JobRecord[] = []) {
    for (const job of records) this.jobs.set(job.id, job);
  }

  toJSON(): JobRecord[] {
    return [...this.jobs.values()];
  }

  launch(accountId: string, kind: JobKind, polls: number, result: unknown): async.LaunchResultBase {
    const job: JobRecord = { id: newJobId(), accountId, kind, pollsLeft: polls, result };
    this.jobs.set(job.id, job);
    return { '.tag': 'async_job_id', async_job_id: job.id };
  }

  /** Dropbox forgets job ids after a while: every id issued so far (of one account, or all) answers `invalid_async_job_id`. */
  expire(accountId?: string): number {
    let expired = 0;
    for (const job of [...this.jobs.values()]) {
      if (accountId && job.accountId !== accountId) continue;
      this.jobs.delete(job.id);
      expired++;
    }
    return expired;
  }

  /** A poll from a check route; another account's or another kind's job id is `invalid_async_job_id`. */
  poll(accountId: string, kind: JobKind, id: string): unknown {
    const job = this.jobs.get(id);
    if (!job || job.accountId !== accountId || job.kind !== kind) throw routeError(u('invalid_async_job_id'));
    if (job.pollsLeft > 0) {
      job.pollsLeft--;
      return u('in_progress');
    }
    return job.result;
  }
}
