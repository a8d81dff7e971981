import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue, UnrecoverableError } from 'bullmq';
import { DbContext } from '../../database/db-context';
import { CollaborationExpiryJobData, ensureExpiryQueued } from '../../queues/flows';
import { QueueName } from '../../queues/queues';
import { DropboxError, DropboxPermanent, DropboxRateLimited } from '../dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { FolderMembers } from '../dropbox/dropbox.types';
import { CollaborationClock } from './collaboration-clock';
import { CollaborationTimings } from './collaboration-timings';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';
import { explainRefusal } from './refusals';
import { isStuck } from './pipeline-stuck';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';

/** The job's end is no longer the pipeline's (extended, reset, or already carried out): it must not touch anything. */
class Superseded extends Error {}

/** How many due pipelines one sweep queues (soonest first); the rest wait for the next sweep. */
const SWEEP_EXPIRY_LIMIT = 200;

/** The member states of people who may be in the folder because of this pipeline. */
const MAYBE_IN_FOLDER = ['queued', 'invited', 'joined', 'failed'] as const;

export function expiryRefOf(
  p: Pick<CollabPipeline, 'id' | 'generation' | 'expiryVersion'>,
): CollaborationExpiryJobData {
  return { pipelineId: p.id, generation: p.generation, expiryVersion: p.expiryVersion };
}

/**
 * Dropbox's answers that mean the folder no longer exists as a share (unshared, or deleted): nobody has access
 * through it any more, so everyone counts as removed.
 */
function folderGone(err: unknown): boolean {
  return (
    err instanceof DropboxPermanent &&
    err.tags[0] === 'access_error' &&
    (err.tags[1] === 'invalid_id' || err.tags[1] === 'unmounted')
  );
}

/**
 * The end of a collaborator share: when it comes, the invited collaborators — joined and pending alike — are
 * removed from the Dropbox folder (which stays, with its files, in the producer's Dropbox).
 *
 * The job is idempotent and resumable: it lists the folder's members first and removes only our collaborators who
 * are still there, recording each one as removed as soon as Dropbox confirms, so a job killed halfway removes
 * nobody twice. A member who already left, an invitation already gone or a folder no longer shared count as done.
 */
@Injectable()
export class CollaborationExpiryService {
  private readonly logger = new Logger(CollaborationExpiryService.name);

  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
    @InjectRepository(CollabMember) private readonly members: EntityRepository<CollabMember>,
    private readonly dropbox: DropboxConnectionsService,
    private readonly clock: CollaborationClock,
    private readonly timings: CollaborationTimings,
    @InjectQueue(QueueName.Collaboration) private readonly queue: Queue,
  ) {}

  /** From the scheduled sweep: queues the expiry job of every share whose end has come (one job per end). */
  async queueDue(): Promise<number> {
    const due = await this.db.run(() => this.pipelines.dueToEnd(this.clock.now(), SWEEP_EXPIRY_LIMIT));
    let queued = 0;
    for (const p of due) if (await ensureExpiryQueued(this.queue, expiryRefOf(p))) queued += 1;
    return queued;
  }

  /** Queues the job at once (End access now), instead of waiting for the sweep. */
  async queueNow(ref: CollaborationExpiryJobData): Promise<void> {
    await ensureExpiryQueued(this.queue, ref);
  }

  /**
   * The expiry job. `wait`: a run of the pipeline is still going (its invitations would land after the removals);
   * the job comes back later. Throws UnrecoverableError for refusals (recorded on the pipeline) and the original
   * error for failures worth retrying.
   */
  endAccess(ref: CollaborationExpiryJobData, isLastAttempt: boolean): Promise<'done' | 'wait'> {
    // A job: it runs in a database context of its own (each fenced write opens a fresh one inside it).
    return this.db.run(() => this.endAccessInContext(ref, isLastAttempt));
  }

  private async endAccessInContext(ref: CollaborationExpiryJobData, isLastAttempt: boolean): Promise<'done' | 'wait'> {
    const found = await this.pipelines.findOne({ id: ref.pipelineId }, { populate: ['track'] });
    if (!found) return 'done';
    const ownerId = found.track.owner.id;
    try {
      const begun = await this.fenced(ref, (p) => {
        if (!p.expiresAt) throw new Superseded();
        if (p.status === 'running') {
          // A run still going would invite people after the removals: wait for it. A stuck one (no progress for
          // COLLAB_STUCK_SECONDS) could wait forever: it is stopped instead (its jobs no longer match the run).
          if (!isStuck(p, this.timings.stuckMs)) return null;
          p.run += 1;
          p.status = 'failed';
          p.errorCode = 'access_ended';
          p.errorMessage = 'Stopped: the share’s end came while this run was stuck. Extend the share to share again.';
          p.finishedAt = new Date();
        }
        p.accessEndingAt ??= this.clock.now();
        return { sharedFolderId: p.sharedFolderId ?? null };
      });
      if (!begun) return 'wait';
      if (begun.sharedFolderId) await this.removeEveryone(ref, begun.sharedFolderId, ownerId);
      await this.fenced(ref, (p) => {
        p.accessEndedAt = this.clock.now();
        p.accessEndingAt = null;
        p.expiryError = null;
      });
      this.logger.log({ pipelineId: ref.pipelineId }, 'collaborators’ access ended');
      return 'done';
    } catch (err) {
      if (err instanceof Superseded) return 'done';
      throw await this.recordFailure(ref, err, isLastAttempt);
    }
  }

  private async removeEveryone(
    ref: CollaborationExpiryJobData,
    sharedFolderId: string,
    ownerId: string,
  ): Promise<void> {
    const client = await this.dropbox.clientFor(ownerId);
    let listing: FolderMembers | null;
    try {
      listing = await client.listFolderMembers(sharedFolderId);
    } catch (err) {
      if (!folderGone(err)) throw err;
      listing = null;
    }
    const rows = await this.db.run(() =>
      this.members.find({ pipeline: ref.pipelineId, state: { $in: [...MAYBE_IN_FOLDER] } }, { orderBy: { id: 'asc' } }),
    );
    for (const row of rows) {
      if (!row.email) continue;
      // The folder's owner (a producer who put their own address on the track) can't be removed, and needn't be.
      const user = listing?.joined.find((m) => m.email === row.email && m.accessLevel !== 'owner');
      const invitee = listing?.invited.find((m) => m.email === row.email);
      if (user || invitee) {
        try {
          // A joined member by account (their account's address may differ from the invited one), an invitee by email.
          await client.removeFolderMember(sharedFolderId, user ? { accountId: user.accountId } : { email: row.email });
        } catch (err) {
          if (!folderGone(err)) throw err;
          listing = null;
        }
      } else if (row.state === 'queued' || row.state === 'failed') {
        continue; // never got in: nothing to take away, and Extend or "share with remaining" may still invite them
      }
      await this.fenced(ref, async () => {
        await this.members.nativeUpdate({ id: row.id }, { state: 'removed', error: null, updatedAt: new Date() });
      });
    }
    if (listing === null) {
      // The share is gone in Dropbox: the next run (Extend) shares the same folder path again.
      await this.fenced(ref, (p) => {
        p.sharedFolderId = null;
        p.folderUrl = null;
      });
    }
  }

  private async recordFailure(ref: CollaborationExpiryJobData, err: unknown, isLastAttempt: boolean): Promise<Error> {
    const refusal = err instanceof DropboxError && !err.retryable ? explainRefusal(err) : undefined;
    const message = err instanceof Error ? err.message : String(err);
    const final = Boolean(refusal) || (isLastAttempt && !(err instanceof DropboxRateLimited));
    if (!final) return err instanceof Error ? err : new Error(message);
    try {
      await this.fenced(ref, (p) => {
        p.accessEndingAt = null;
        // Refusals end with what to press on a failed run; here the button to press again is End access now.
        const why = refusal
          ? refusal.message.replace(/,? then press Retry\.$/, '.').replace(/\s*Press Retry[^.]*\.$/, '')
          : `Dropbox kept failing (${message}).`;
        p.expiryError = `Access could not be ended: ${why} Press End access now to try again.`;
      });
    } catch (fenceErr) {
      if (fenceErr instanceof Superseded) return new UnrecoverableError('superseded');
      this.logger.warn({ err: fenceErr, pipelineId: ref.pipelineId }, 'could not record an expiry failure');
      return err instanceof Error ? err : new Error(message);
    }
    this.logger.warn({ pipelineId: ref.pipelineId, error: message }, 'ending collaborators’ access failed');
    return new UnrecoverableError(message);
  }

  /** A change applied only while the job's generation and end are still the pipeline's and access has not ended. */
  private async fenced<T>(ref: CollaborationExpiryJobData, change: (p: CollabPipeline) => T | Promise<T>): Promise<T> {
    return this.db.freshTransaction(async () => {
      const p = await this.pipelines.lockedById(ref.pipelineId);
      if (!p || p.generation !== ref.generation || p.expiryVersion !== ref.expiryVersion || p.accessEndedAt)
        throw new Superseded();
      return change(p);
    });
  }
}
