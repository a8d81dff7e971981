import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { InjectFlowProducer, InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { FlowProducer, Queue, UnrecoverableError } from 'bullmq';
import { DbContext } from '../../database/db-context';
import { CollaborationStepJobData, ensureRunQueued, PipelineJobStep } from '../../queues/flows';
import { QueueName } from '../../queues/queues';
import {
  DropboxError,
  DropboxNotFound,
  DropboxPermanent,
  DropboxRateLimited,
  DropboxTransient,
} from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { CopyEntryResult, DropboxEntry } from '../dropbox/dropbox.types';
import { CollabFile } from './entities/collab-file.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';
import { PipelineFence, Superseded } from './pipeline-fence';
import { PipelineInvites } from './pipeline-invites';
import { CollaborationRefusal, explainRefusal } from './refusals';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';
import { nextNumberedName } from '../../common/free-names';

const COPY_BATCH = 1000;
/** Names tried for one file before giving up ("x.wav", "x (2).wav" … ). */
const MAX_NAME_TRIES = 20;
/** Copy rounds of one step: name retries, smaller batches after `too_many_files`, restarts after a forgotten job. */
const MAX_COPY_ROUNDS = 40;

export const COLLAB_FLOW_PRODUCER = 'collaboration';

/**
 * The steps of the pipeline, run by queue jobs. Each step reads what is left to do from PostgreSQL, does it in
 * Dropbox, and records it; every write is fenced by the job's generation and run (row lock + check), so a job
 * of a reset or superseded run changes nothing. A step killed at any point is safe to run again:
 *
 * - folder: the path is fixed before `share_folder`; a repeat answers `already_shared` with the same id.
 * - files: targets are fixed before copying; after an interrupted copy the folder is listed first, and a target
 *   already holding the same content counts as copied (a conflict with other content gets the next free name).
 * - invites: members are listed first; only addresses neither joined nor invited are sent, in one call.
 */
@Injectable()
export class PipelineRunnerService {
  private readonly logger = new Logger(PipelineRunnerService.name);

  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
    @InjectRepository(CollabFile) private readonly files: EntityRepository<CollabFile>,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Collaboration) private readonly queue: Queue,
    @InjectFlowProducer(COLLAB_FLOW_PRODUCER) private readonly flows: FlowProducer,
    private readonly fence: PipelineFence,
    private readonly invites: PipelineInvites,
  ) {}

  /** Re-reads a shared folder's members (on demand and from the scheduled sweep). */
  refreshMembers(pipelineId: string, ownerId: string): Promise<void> {
    return this.invites.refreshMembers(pipelineId, ownerId);
  }

  /**
   * Runs one step for a job. Returns quietly when there is nothing (left) to do; throws UnrecoverableError for
   * refusals (recorded on the pipeline with the reason) and the original error for failures worth retrying.
   */
  runStep(ref: CollaborationStepJobData, step: PipelineJobStep, isLastAttempt: boolean): Promise<void> {
    // A job: it runs in a database context of its own (each fenced write opens a fresh one inside it).
    return this.db.run(() => this.stepInContext(ref, step, isLastAttempt));
  }

  private async stepInContext(
    ref: CollaborationStepJobData,
    step: PipelineJobStep,
    isLastAttempt: boolean,
  ): Promise<void> {
    const pipeline = await this.pipelines.findOne({ id: ref.pipelineId }, { populate: ['track'] });
    if (!pipeline || pipeline.generation !== ref.generation) return;
    if (pipeline.run !== ref.run) {
      // A newer run took over. If its jobs never made it to Redis (a crash right after the database write), add them.
      if (pipeline.status === 'running' && pipeline.run > ref.run) await this.ensureQueued(pipeline);
      return;
    }
    if (pipeline.status !== 'running') return;
    try {
      await this.fence.fenced(ref, (p) => {
        p.step = step;
        p.progressAt = new Date();
      });
      const client = await this.dropbox.clientFor(pipeline.track.owner.id);
      if (step === 'folder') await this.folderStep(ref, client);
      else if (step === 'files') await this.filesStep(ref, client);
      else await this.invites.invitesStep(ref, client);
      await this.fence.fenced(ref, (p) => {
        p.progressAt = new Date();
        p.errorCode = null;
        p.errorMessage = null;
      });
      if (step === 'invites') await this.finishRun(ref);
    } catch (err) {
      if (err instanceof Superseded) return;
      throw await this.recordFailure(ref, step, err, isLastAttempt);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Step 1: the shared folder
  // -------------------------------------------------------------------------------------------------------------

  private async folderStep(ref: CollaborationStepJobData, client: DropboxAccountClient): Promise<void> {
    const pipeline = await this.fence.current(ref);
    if (pipeline.sharedFolderId) return;
    if (!pipeline.folderPath) throw new Error(`pipeline ${pipeline.id} has no folder path`);
    const shared = await client.shareFolder(pipeline.folderPath);
    await this.fence.fenced(ref, (p) => {
      p.sharedFolderId = shared.sharedFolderId;
      p.folderUrl = shared.previewUrl ?? null;
      p.progressAt = new Date();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Step 2: the files
  // -------------------------------------------------------------------------------------------------------------

  private async filesStep(ref: CollaborationStepJobData, client: DropboxAccountClient): Promise<void> {
    const pipeline = await this.fence.current(ref);
    const folder = await this.currentFolderPath(ref, client, pipeline);
    // An earlier attempt may have left a batch running in Dropbox: let it finish, then see what arrived.
    if (pipeline.copyJobId) {
      await client.waitForCopyBatch(pipeline.copyJobId).catch((err: unknown) => {
        if (!(err instanceof DropboxPermanent)) throw err; // Dropbox forgot the job: the listing below tells
      });
      await this.fence.fenced(ref, (p) => (p.copyJobId = null));
    }
    if (pipeline.copyAttempted) await this.adoptExisting(ref, client, folder);

    let batchSize = COPY_BATCH;
    for (let round = 0; round < MAX_COPY_ROUNDS; round += 1) {
      const pending = await this.db.run(() =>
        this.files.find({ pipeline: ref.pipelineId, status: 'pending' }, { orderBy: { createdAt: 'asc', id: 'asc' } }),
      );
      if (pending.length === 0) return;
      let retryLater = false;
      let again = false;
      for (let i = 0; i < pending.length; i += batchSize) {
        const batch = pending.slice(i, i + batchSize);
        await this.fence.fenced(ref, (p) => (p.copyAttempted = true));
        const launch = await client.startCopyBatch(
          batch.map((f) => ({ fromPath: f.sourceId, toPath: `${folder}/${f.targetPath}` })),
          { intoSharedFolder: pipeline.sharedFolderId ?? undefined },
        );
        let results: CopyEntryResult[];
        if (launch.done) {
          results = launch.results;
        } else {
          await this.fence.fenced(ref, (p) => (p.copyJobId = launch.asyncJobId));
          try {
            results = await client.waitForCopyBatch(launch.asyncJobId);
          } catch (err) {
            if (!(err instanceof DropboxPermanent && err.tags.includes('invalid_async_job_id'))) throw err;
            // Dropbox forgot the job: see what arrived, then copy the rest again.
            await this.fence.fenced(ref, (p) => (p.copyJobId = null));
            await this.adoptExisting(ref, client, folder);
            again = true;
            continue;
          }
          await this.fence.fenced(ref, (p) => (p.copyJobId = null));
        }
        const outcome = await this.applyCopyResults(ref, client, folder, batch, results);
        retryLater = outcome.retryLater || retryLater;
        // Too many files for one batch: the rest goes in smaller batches, now.
        if (outcome.tooManyFiles) {
          batchSize = Math.max(1, Math.floor(batch.length / 2));
          again = true;
          break; // what is still pending is read again
        }
      }
      if (retryLater) throw new DropboxTransient('Dropbox could not copy some files this time', ['copy_incomplete']);
      if (!again && round >= MAX_NAME_TRIES) break;
    }
    throw new CollaborationRefusal({
      code: 'name_conflicts',
      message: 'Files with the same names but other contents keep appearing in the shared folder.',
    });
  }

  /**
   * The shared folder's path now, found by its `shared_folder_id`: a producer who renamed or moved it in Dropbox
   * keeps sharing into it (never a new, unshared folder at the old path). One it can't reach stops the step.
   */
  private async currentFolderPath(
    ref: CollaborationStepJobData,
    client: DropboxAccountClient,
    pipeline: CollabPipeline,
  ): Promise<string> {
    if (!pipeline.sharedFolderId) return pipeline.folderPath!;
    const shared = await client.sharedFolder(pipeline.sharedFolderId);
    if (!shared.pathDisplay) {
      throw new CollaborationRefusal({
        code: 'folder_not_reachable',
        message:
          'The shared folder is not reachable in your Dropbox (folder not reachable: it was removed from your Dropbox or moved into a team space). Add it back in Dropbox, then press Retry, or Reset to start a new one.',
      });
    }
    if (shared.pathDisplay !== pipeline.folderPath) {
      await this.fence.fenced(ref, (p) => (p.folderPath = shared.pathDisplay!));
    }
    return shared.pathDisplay;
  }

  /** After an interrupted copy: targets already holding the file's content are done. */
  private async adoptExisting(
    ref: CollaborationStepJobData,
    client: DropboxAccountClient,
    folder: string,
  ): Promise<void> {
    const pending = await this.db.run(() => this.files.find({ pipeline: ref.pipelineId, status: 'pending' }));
    if (pending.length === 0) return;
    const present = await client.listFolder(folder, { recursive: true }).catch((err: unknown) => {
      if (err instanceof DropboxNotFound) return [] as DropboxEntry[];
      throw err;
    });
    const byPath = new Map(present.map((e) => [e.pathLower, e]));
    const arrived = pending.filter((f) => {
      const there = byPath.get(`${folder}/${f.targetPath}`.toLowerCase());
      return there && this.sameContent(f, there);
    });
    if (arrived.length)
      await this.markCopied(
        ref,
        arrived.map((f) => f.id),
      );
  }

  private sameContent(file: CollabFile, entry: DropboxEntry): boolean {
    if (file.isPackage) return entry.kind === 'folder';
    return entry.kind === 'file' && !!file.contentHash && entry.contentHash === file.contentHash;
  }

  /**
   * Records a batch's outcome per entry. `retryLater`: some entries failed for a passing reason (the step is retried
   * for those only); `tooManyFiles`: Dropbox wants smaller batches.
   */
  private async applyCopyResults(
    ref: CollaborationStepJobData,
    client: DropboxAccountClient,
    folder: string,
    batch: CollabFile[],
    results: CopyEntryResult[],
  ): Promise<{ retryLater: boolean; tooManyFiles: boolean }> {
    const copied: string[] = [];
    const skipped: Array<{ id: string; error: string }> = [];
    const renamed: Array<{ id: string; targetPath: string }> = [];
    let retryLater = false;
    let tooManyFiles = false;
    for (const [index, file] of batch.entries()) {
      const result = results[index];
      if (!result) {
        retryLater = true;
      } else if (result.ok) {
        copied.push(file.id);
      } else if (
        result.tags.includes('from_lookup') ||
        (result.tags.includes('not_found') && !result.tags.includes('to'))
      ) {
        skipped.push({ id: file.id, error: `${file.name} is no longer in your Dropbox, so it was not copied.` });
      } else if (result.tags.includes('conflict')) {
        // Ours from an earlier attempt (same content) counts as done; someone else's file gets the next free name.
        const there = await client.getMetadata(`${folder}/${file.targetPath}`).catch((err: unknown) => {
          if (err instanceof DropboxNotFound) return null;
          throw err;
        });
        if (there && this.sameContent(file, there)) copied.push(file.id);
        else renamed.push({ id: file.id, targetPath: nextNumberedName(file.targetPath) });
      } else if (result.tags.includes('insufficient_space') || result.tags.includes('insufficient_quota')) {
        // Copies that made it are kept; the rest wait for Retry once the producer has freed space.
        await this.markCopied(ref, copied);
        throw new CollaborationRefusal(explainRefusal(await client.storageFull(result.tags, 'files/copy_batch_v2')));
      } else if (result.tags.includes('too_many_files')) {
        tooManyFiles = true; // copied again at once, in a smaller batch
      } else {
        retryLater = true; // too_many_write_operations, internal_error…: the next attempt copies only these
      }
    }
    await this.markCopied(ref, copied);
    if (skipped.length || renamed.length) {
      await this.fence.fenced(ref, async () => {
        for (const s of skipped) await this.files.nativeUpdate({ id: s.id }, { status: 'skipped', error: s.error });
        for (const r of renamed) await this.files.nativeUpdate({ id: r.id }, { targetPath: r.targetPath });
      });
    }
    return { retryLater, tooManyFiles };
  }

  private async markCopied(ref: CollaborationStepJobData, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.fence.fenced(ref, async (p) => {
      await this.files.nativeUpdate({ id: { $in: ids }, pipeline: p.id }, { status: 'copied', error: null });
      p.progressAt = new Date();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Run bookkeeping
  // -------------------------------------------------------------------------------------------------------------

  /** The run is done, unless "share with remaining" came in meanwhile: then the next run starts. */
  private async finishRun(ref: CollaborationStepJobData): Promise<void> {
    const next = await this.fence.fenced(ref, (p) => {
      if (p.rerunRequested) {
        p.run += 1;
        p.rerunRequested = false;
        p.step = 'folder';
        p.progressAt = new Date();
        return { pipelineId: p.id, generation: p.generation, run: p.run };
      }
      p.status = 'done';
      p.step = null;
      p.finishedAt = new Date();
      p.progressAt = new Date();
      return null;
    });
    if (next) await ensureRunQueued(this.flows, this.queue, next);
  }

  private async recordFailure(
    ref: CollaborationStepJobData,
    step: PipelineJobStep,
    err: unknown,
    isLastAttempt: boolean,
  ): Promise<Error> {
    const refusal =
      err instanceof CollaborationRefusal
        ? err.refusal
        : err instanceof DropboxError && !err.retryable
          ? explainRefusal(err)
          : undefined;
    const message = err instanceof Error ? err.message : String(err);
    // A 429 is never final: the job waits for its Retry-After without using up an attempt.
    const final = Boolean(refusal) || (isLastAttempt && !(err instanceof DropboxRateLimited));
    try {
      await this.fence.fenced(ref, (p) => {
        p.step = step;
        if (final) {
          p.status = 'failed';
          p.errorCode = refusal?.code ?? 'dropbox_unavailable';
          p.errorMessage = refusal?.message ?? `Dropbox kept failing (${message}). Press Retry to try again.`;
          p.finishedAt = new Date();
        } else {
          // Still running: the queue retries with backoff. Shown as a note, not as a failure.
          p.errorCode = 'retrying';
          p.errorMessage = `Retrying after a temporary problem: ${message}`;
        }
      });
    } catch (fenceErr) {
      if (fenceErr instanceof Superseded) return new UnrecoverableError('superseded');
      // The database itself failed (unreachable, restarting): nothing was recorded, so the job must not end here or
      // the pipeline would stay "running" with no job left. The queue retries; the next attempt records or resumes.
      this.logger.warn({ err: fenceErr, pipelineId: ref.pipelineId }, 'could not record a failure');
      return err instanceof Error ? err : new Error(message);
    }
    if (refusal) {
      this.logger.warn(
        { pipelineId: ref.pipelineId, step, code: refusal.code },
        'collaboration pipeline refused by Dropbox',
      );
      return new UnrecoverableError(refusal.message);
    }
    return err instanceof Error ? err : new Error(message);
  }

  async ensureQueued(pipeline: { id: string; generation: number; run: number }): Promise<boolean> {
    return ensureRunQueued(this.flows, this.queue, {
      pipelineId: pipeline.id,
      generation: pipeline.generation,
      run: pipeline.run,
    });
  }
}
