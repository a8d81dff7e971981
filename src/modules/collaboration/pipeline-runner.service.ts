import { EntityManager, LockMode, MikroORM } from '@mikro-orm/postgresql';
import { InjectFlowProducer, InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { FlowProducer, Queue, UnrecoverableError } from 'bullmq';
import { CollaborationStepJobData, ensureRunQueued, PipelineJobStep } from '../../queues/flows';
import { QueueName } from '../../queues/queues';
import { DropboxError, DropboxNotFound, DropboxPermanent, DropboxRateLimited, DropboxTransient } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { CopyEntryResult, DropboxEntry, FolderMembers } from '../dropbox/dropbox.types';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';
import { CollaborationRefusal, explainRefusal, Refusal } from './refusals';
import { DROPBOX_EMAIL_RULE, dropboxEmailProblem } from '../dropbox/dropbox-email';

/** The job's run is no longer the pipeline's (reset or a newer run): it must not touch anything. */
class Superseded extends Error {}

const COPY_BATCH = 1000;
/** Names tried for one file before giving up ("x.wav", "x (2).wav" … ). */
const MAX_NAME_TRIES = 20;
/** Copy rounds of one step: name retries, smaller batches after `too_many_files`, restarts after a forgotten job. */
const MAX_COPY_ROUNDS = 40;
/** add_folder_member calls one invitation step may make while narrowing down refusals. */
const MAX_INVITE_CALLS = 64;

interface InviteRefusal {
  id: string;
  refusal: Refusal;
}

/**
 * The address a vanished invitation was accepted under, when the folder's members tell unambiguously: the one
 * stranger with the invitee's name, or the only stranger when only one invitation vanished.
 */
function acceptedAs(row: CollabMember, vanished: CollabMember[], strangers: FolderMembers['joined']): string | null {
  const byName = strangers.filter((s) => s.displayName.trim().toLowerCase() === row.name.trim().toLowerCase());
  if (byName.length === 1) return byName[0].email;
  return vanished.length === 1 && strangers.length === 1 ? strangers[0].email : null;
}

function invalidAddress(email: string, rule: string): Refusal {
  return {
    code: 'invalid_email',
    email,
    message: `Dropbox does not accept “${email}” as an email address (${rule}). Correct it under Collaborators, then press Retry.`,
  };
}

export const COLLAB_FLOW_PRODUCER = 'collaboration';

function withSuffix(relativePath: string, n: number): string {
  const slash = relativePath.lastIndexOf('/');
  const dir = relativePath.slice(0, slash + 1);
  const name = relativePath.slice(slash + 1);
  const base = name.replace(/ \(\d+\)(?=\.[^.]*$|$)/, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 ? `${dir}${base.slice(0, dot)} (${n})${base.slice(dot)}` : `${dir}${base} (${n})`;
}

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
    private readonly orm: MikroORM,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Collaboration) private readonly queue: Queue,
    @InjectFlowProducer(COLLAB_FLOW_PRODUCER) private readonly flows: FlowProducer,
  ) {}

  /**
   * Runs one step for a job. Returns quietly when there is nothing (left) to do; throws UnrecoverableError for
   * refusals (recorded on the pipeline with the reason) and the original error for failures worth retrying.
   */
  async runStep(ref: CollaborationStepJobData, step: PipelineJobStep, isLastAttempt: boolean): Promise<void> {
    const em = this.orm.em.fork();
    const pipeline = await em.findOne(CollabPipeline, { id: ref.pipelineId }, { populate: ['track'] });
    if (!pipeline || pipeline.generation !== ref.generation) return;
    if (pipeline.run !== ref.run) {
      // A newer run took over. If its jobs never made it to Redis (a crash right after the database write), add them.
      if (pipeline.status === 'running' && pipeline.run > ref.run) await this.ensureQueued(pipeline);
      return;
    }
    if (pipeline.status !== 'running') return;
    try {
      await this.fenced(ref, (p) => {
        p.step = step;
        p.progressAt = new Date();
      });
      const client = await this.dropbox.clientFor(pipeline.track.owner.id);
      if (step === 'folder') await this.folderStep(ref, client);
      else if (step === 'files') await this.filesStep(ref, client);
      else await this.invitesStep(ref, client);
      await this.fenced(ref, (p) => {
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
    const pipeline = await this.current(ref);
    if (pipeline.sharedFolderId) return;
    if (!pipeline.folderPath) throw new Error(`pipeline ${pipeline.id} has no folder path`);
    const shared = await client.shareFolder(pipeline.folderPath);
    await this.fenced(ref, (p) => {
      p.sharedFolderId = shared.sharedFolderId;
      p.folderUrl = shared.previewUrl ?? null;
      p.progressAt = new Date();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Step 2: the files
  // -------------------------------------------------------------------------------------------------------------

  private async filesStep(ref: CollaborationStepJobData, client: DropboxAccountClient): Promise<void> {
    const pipeline = await this.current(ref);
    const folder = await this.currentFolderPath(ref, client, pipeline);
    // An earlier attempt may have left a batch running in Dropbox: let it finish, then see what arrived.
    if (pipeline.copyJobId) {
      await client.waitForCopyBatch(pipeline.copyJobId).catch((err: unknown) => {
        if (!(err instanceof DropboxPermanent)) throw err; // Dropbox forgot the job: the listing below tells
      });
      await this.fenced(ref, (p) => (p.copyJobId = null));
    }
    if (pipeline.copyAttempted) await this.adoptExisting(ref, client, folder);

    let batchSize = COPY_BATCH;
    for (let round = 0; round < MAX_COPY_ROUNDS; round += 1) {
      const pending = await this.orm.em.fork().find(CollabFile, { pipeline: ref.pipelineId, status: 'pending' }, { orderBy: { createdAt: 'asc', id: 'asc' } });
      if (pending.length === 0) return;
      let retryLater = false;
      let again = false;
      for (let i = 0; i < pending.length; i += batchSize) {
        const batch = pending.slice(i, i + batchSize);
        await this.fenced(ref, (p) => (p.copyAttempted = true));
        const launch = await client.startCopyBatch(
          batch.map((f) => ({ fromPath: f.sourceId, toPath: `${folder}/${f.targetPath}` })),
          { intoSharedFolder: pipeline.sharedFolderId ?? undefined },
        );
        let results: CopyEntryResult[];
        if (launch.done) {
          results = launch.results;
        } else {
          await this.fenced(ref, (p) => (p.copyJobId = launch.asyncJobId));
          try {
            results = await client.waitForCopyBatch(launch.asyncJobId);
          } catch (err) {
            if (!(err instanceof DropboxPermanent && err.tags.includes('invalid_async_job_id'))) throw err;
            // Dropbox forgot the job: see what arrived, then copy the rest again.
            await this.fenced(ref, (p) => (p.copyJobId = null));
            await this.adoptExisting(ref, client, folder);
            again = true;
            continue;
          }
          await this.fenced(ref, (p) => (p.copyJobId = null));
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
    throw new CollaborationRefusal({ code: 'name_conflicts', message: 'Files with the same names but other contents keep appearing in the shared folder.' });
  }

  /**
   * The shared folder's path now, found by its `shared_folder_id`: a producer who renamed or moved it in Dropbox
   * keeps sharing into it (never a new, unshared folder at the old path). One it can't reach stops the step.
   */
  private async currentFolderPath(ref: CollaborationStepJobData, client: DropboxAccountClient, pipeline: CollabPipeline): Promise<string> {
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
      await this.fenced(ref, (p) => (p.folderPath = shared.pathDisplay!));
    }
    return shared.pathDisplay;
  }

  /** After an interrupted copy: targets already holding the file's content are done. */
  private async adoptExisting(ref: CollaborationStepJobData, client: DropboxAccountClient, folder: string): Promise<void> {
    const pending = await this.orm.em.fork().find(CollabFile, { pipeline: ref.pipelineId, status: 'pending' });
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
    if (arrived.length) await this.markCopied(ref, arrived.map((f) => f.id));
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
      } else if (result.tags.includes('from_lookup') || (result.tags.includes('not_found') && !result.tags.includes('to'))) {
        skipped.push({ id: file.id, error: `${file.name} is no longer in your Dropbox, so it was not copied.` });
      } else if (result.tags.includes('conflict')) {
        // Ours from an earlier attempt (same content) counts as done; someone else's file gets the next free name.
        const there = await client.getMetadata(`${folder}/${file.targetPath}`).catch((err: unknown) => {
          if (err instanceof DropboxNotFound) return null;
          throw err;
        });
        if (there && this.sameContent(file, there)) copied.push(file.id);
        else renamed.push({ id: file.id, targetPath: this.nextName(file.targetPath) });
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
      await this.fenced(ref, async (_p, em) => {
        for (const s of skipped) await em.nativeUpdate(CollabFile, { id: s.id }, { status: 'skipped', error: s.error });
        for (const r of renamed) await em.nativeUpdate(CollabFile, { id: r.id }, { targetPath: r.targetPath });
      });
    }
    return { retryLater, tooManyFiles };
  }

  private nextName(targetPath: string): string {
    const match = / \((\d+)\)(?=\.[^./]*$|$)/.exec(targetPath.slice(targetPath.lastIndexOf('/') + 1));
    return withSuffix(targetPath, match ? Number(match[1]) + 1 : 2);
  }

  private async markCopied(ref: CollaborationStepJobData, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.fenced(ref, async (p, em) => {
      await em.nativeUpdate(CollabFile, { id: { $in: ids }, pipeline: p.id }, { status: 'copied', error: null });
      p.progressAt = new Date();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Step 3: the invitations
  // -------------------------------------------------------------------------------------------------------------

  private async invitesStep(ref: CollaborationStepJobData, client: DropboxAccountClient): Promise<void> {
    const pipeline = await this.current(ref);
    const folderId = pipeline.sharedFolderId!;
    const queued = await this.orm.em.fork().find(CollabMember, { pipeline: ref.pipelineId, state: 'queued' });
    if (queued.length === 0) return;
    const members = await client.listFolderMembers(folderId);
    await this.applyMembers(ref, members);

    const toInvite = (await this.orm.em.fork().find(CollabMember, { pipeline: ref.pipelineId, state: 'queued' }, { orderBy: { name: 'asc', id: 'asc' } })).filter(
      (m) => m.email,
    );
    const refused: InviteRefusal[] = [];
    // An address outside Dropbox's pattern makes the whole call a 400 that invites nobody: set those aside first.
    const sendable = toInvite.filter((m) => {
      const problem = dropboxEmailProblem(m.email!);
      if (problem) refused.push({ id: m.id, refusal: invalidAddress(m.email!, problem) });
      return !problem;
    });
    await this.invite(ref, client, folderId, pipeline.accessLevel, sendable, refused, { calls: MAX_INVITE_CALLS });
    if (refused.length) {
      await this.fenced(ref, async (_p, em) => {
        for (const r of refused) await em.nativeUpdate(CollabMember, { id: r.id }, { state: 'failed', error: r.refusal.message, updatedAt: new Date() });
      });
      throw new CollaborationRefusal(refused[0].refusal);
    }
  }

  /**
   * Invites a group in one call. Dropbox fails the whole call for one bad recipient, so a refusal is narrowed down:
   * a named address is set aside and the rest invited again; a 400 (an address Dropbox's pattern refuses) or
   * `too_many_invitees` splits the group in halves until the culprit is alone or the halves fit.
   */
  private async invite(
    ref: CollaborationStepJobData,
    client: DropboxAccountClient,
    folderId: string,
    accessLevel: 'editor' | 'viewer',
    group: CollabMember[],
    refused: InviteRefusal[],
    budget: { calls: number },
  ): Promise<void> {
    if (group.length === 0) return;
    if (budget.calls-- <= 0) throw new DropboxTransient('Dropbox kept refusing parts of the invitation', ['invite_rounds']);
    try {
      await client.addFolderMembers(folderId, group.map((m) => m.email!), accessLevel);
    } catch (err) {
      if (!(err instanceof DropboxError) || err.retryable) throw err;
      // A 400 (an address Dropbox's pattern refuses), too many at once, or a team policy against someone outside the
      // team: the call names nobody, so halves narrow it down.
      const splittable = err.tags.includes('bad_request') || err.tags.includes('too_many_invitees') || err.tags.includes('cant_share_outside_team');
      if (splittable && group.length > 1) {
        const half = Math.ceil(group.length / 2);
        await this.invite(ref, client, folderId, accessLevel, group.slice(0, half), refused, budget);
        await this.invite(ref, client, folderId, accessLevel, group.slice(half), refused, budget);
        return;
      }
      if (splittable && group.length === 1) {
        const refusal = err.tags.includes('bad_request') ? invalidAddress(group[0].email!, DROPBOX_EMAIL_RULE) : { ...explainRefusal(err), email: group[0].email! };
        refused.push({ id: group[0].id, refusal });
        return;
      }
      const refusal = explainRefusal(err);
      const culprit = refusal.email ? group.find((m) => m.email === refusal.email!.toLowerCase()) : undefined;
      if (culprit) {
        refused.push({ id: culprit.id, refusal });
        await this.invite(ref, client, folderId, accessLevel, group.filter((m) => m !== culprit), refused, budget);
        return;
      }
      for (const m of group) refused.push({ id: m.id, refusal });
      return;
    }
    await this.fenced(ref, async (p, em) => {
      await em.nativeUpdate(CollabMember, { id: { $in: group.map((m) => m.id) } }, { state: 'invited', error: null, updatedAt: new Date() });
      p.progressAt = new Date();
    });
  }

  /**
   * Re-reads a shared folder's members (on demand and from the scheduled sweep). A run starting meanwhile wins:
   * its own listing is newer.
   */
  async refreshMembers(pipelineId: string, ownerId: string): Promise<void> {
    const pipeline = await this.orm.em.fork().findOne(CollabPipeline, { id: pipelineId });
    if (!pipeline?.sharedFolderId) return;
    const ref = { pipelineId, generation: pipeline.generation, run: pipeline.run };
    const client = await this.dropbox.clientFor(ownerId);
    const listedAt = new Date();
    const members = await client.listFolderMembers(pipeline.sharedFolderId);
    try {
      await this.applyMembers(ref, members, listedAt);
    } catch (err) {
      if (!(err instanceof Superseded)) throw err;
    }
  }

  /**
   * Member states from a listing: joined, invite pending; queued people already there are not invited again.
   * Rows changed after `listedAt` (an invitation sent while the listing was on its way) are left alone.
   */
  private async applyMembers(ref: CollaborationStepJobData, members: FolderMembers, listedAt = new Date()): Promise<void> {
    const joined = new Set(members.joined.map((m) => m.email));
    const invited = new Set(members.invited.map((m) => m.email));
    await this.fenced(ref, async (p, em) => {
      // While access is being ended the expiry job owns the member rows: someone it just removed must become
      // "removed", not "queued" (which would read as "never got in" if the job is resumed).
      if (p.accessEndingAt || p.accessEndedAt) return;
      const rows = await em.find(CollabMember, { pipeline: p.id, state: { $in: ['queued', 'invited', 'joined', 'gone'] } });
      const known = new Set((await em.find(CollabMember, { pipeline: p.id }, { fields: ['email'] })).map((r) => r.email));
      // People in the folder under an address we never invited: someone accepted an invitation signed in elsewhere.
      const strangers = members.joined.filter((m) => !known.has(m.email));
      const vanished: CollabMember[] = [];
      for (const row of rows) {
        if (!row.email || row.updatedAt > listedAt) continue;
        let next: CollabMember['state'] = joined.has(row.email) ? 'joined' : invited.has(row.email) ? 'invited' : row.state;
        if (next === row.state && !joined.has(row.email) && !invited.has(row.email)) {
          // An invitation that left the pending list without its address joining is never re-sent by itself. Someone
          // who had joined and left (or was removed in Dropbox) goes back to queued: "share with remaining" asks again.
          if (row.state === 'invited') next = 'gone';
          else if (row.state === 'joined') next = 'queued';
        }
        if (next === 'gone' && row.state === 'invited') vanished.push(row);
        if (next !== row.state) {
          row.state = next;
          row.error = null;
          if (next !== 'gone') row.acceptedAs = null;
          row.updatedAt = new Date();
        }
      }
      for (const row of vanished) row.acceptedAs = acceptedAs(row, vanished, strangers);
      p.membersRefreshedAt = new Date();
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Run bookkeeping
  // -------------------------------------------------------------------------------------------------------------

  /** The run is done, unless "share with remaining" came in meanwhile: then the next run starts. */
  private async finishRun(ref: CollaborationStepJobData): Promise<void> {
    const next = await this.fenced(ref, (p) => {
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

  private async recordFailure(ref: CollaborationStepJobData, step: PipelineJobStep, err: unknown, isLastAttempt: boolean): Promise<Error> {
    const refusal =
      err instanceof CollaborationRefusal ? err.refusal : err instanceof DropboxError && !err.retryable ? explainRefusal(err) : undefined;
    const message = err instanceof Error ? err.message : String(err);
    // A 429 is never final: the job waits for its Retry-After without using up an attempt.
    const final = Boolean(refusal) || (isLastAttempt && !(err instanceof DropboxRateLimited));
    try {
      await this.fenced(ref, (p) => {
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
      this.logger.warn({ pipelineId: ref.pipelineId, step, code: refusal.code }, 'collaboration pipeline refused by Dropbox');
      return new UnrecoverableError(refusal.message);
    }
    return err instanceof Error ? err : new Error(message);
  }

  async ensureQueued(pipeline: { id: string; generation: number; run: number }): Promise<boolean> {
    return ensureRunQueued(this.flows, this.queue, { pipelineId: pipeline.id, generation: pipeline.generation, run: pipeline.run });
  }

  private async current(ref: CollaborationStepJobData): Promise<CollabPipeline> {
    const pipeline = await this.orm.em.fork().findOne(CollabPipeline, { id: ref.pipelineId });
    if (!pipeline || pipeline.generation !== ref.generation || pipeline.run !== ref.run) throw new Superseded();
    return pipeline;
  }

  /**
   * Applies a change to the pipeline (and its rows) only if the job's generation and run are still current,
   * holding the row lock so a concurrent reset or start waits for it (or it waits for them).
   */
  private async fenced<T>(ref: CollaborationStepJobData, change: (p: CollabPipeline, em: EntityManager) => T | Promise<T>): Promise<T> {
    return this.orm.em.fork().transactional(async (em) => {
      const p = await em.findOne(CollabPipeline, { id: ref.pipelineId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!p || p.generation !== ref.generation || p.run !== ref.run) throw new Superseded();
      return change(p, em);
    });
  }
}
