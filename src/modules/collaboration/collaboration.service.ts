import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { InjectFlowProducer, InjectQueue } from '@nestjs/bullmq';
import { BadRequestException, ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { FlowProducer, Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { CollaborationStepJobData, ensureRunQueued, removeRunJobs } from '../../queues/flows';
import { QueueName } from '../../queues/queues';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { CollaboratorsService } from '../files/collaborators.service';
import type { TrackFile } from '../files/entities/track-file.entity';
import { LibraryService } from '../files/library.service';
import { safeFolderName } from '../files/names';
import { TracksService } from '../files/tracks.service';
import {
  applySettings,
  CollabSettingsInput,
  downloadsOf,
  formatDay,
  leftOutReason,
  settingsFrom,
} from './collab-settings';
import { CollaborationClock } from './collaboration-clock';
import { CollaborationExpiryService, expiryRefOf } from './collaboration-expiry.service';
import { CollaborationStatus } from './collaboration-status';
import { CollaborationTimings } from './collaboration-timings';
import { CollaborationView } from './collaboration.views';
import type { UpdateExpiryChoice } from './dto/start-collaboration.dto';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { AccessLevel, CollabPipeline } from './entities/collab-pipeline.entity';
import { COLLAB_FLOW_PRODUCER, PipelineRunnerService } from './pipeline-runner.service';
import { beginRun, PipelineRows } from './pipeline-rows';
import { isStuck } from './pipeline-stuck';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';

/** The folder shared with a track's collaborators, under the Dropbox root; the id keeps same-titled tracks apart. */
export const COLLABORATION_FOLDER = 'Collaboration';

/** How many pipelines one sweep refreshes (oldest first); the rest wait for the next sweep. */
const SWEEP_REFRESH_LIMIT = 200;

/**
 * Share with collaborators, as the producer sees it: start (or "share with remaining"), status, retry, reset,
 * refresh from Dropbox and removing someone's access. The rows these build are {@link PipelineRows}', the panel they
 * answer with is {@link CollaborationStatus}'; the steps themselves run in {@link PipelineRunnerService}.
 */
@Injectable()
export class CollaborationService {
  private readonly logger = new Logger(CollaborationService.name);

  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
    @InjectRepository(CollabFile) private readonly files: EntityRepository<CollabFile>,
    @InjectRepository(CollabMember) private readonly members: EntityRepository<CollabMember>,
    private readonly tracks: TracksService,
    private readonly collaborators: CollaboratorsService,
    private readonly library: LibraryService,
    private readonly dropbox: DropboxConnectionsService,
    private readonly runner: PipelineRunnerService,
    private readonly expiry: CollaborationExpiryService,
    private readonly clock: CollaborationClock,
    private readonly panel: CollaborationStatus,
    private readonly rows: PipelineRows,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly timings: CollaborationTimings,
    @InjectQueue(QueueName.Collaboration) private readonly queue: Queue,
    @InjectFlowProducer(COLLAB_FLOW_PRODUCER) private readonly flows: FlowProducer,
  ) {}

  async status(ownerId: string, trackId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    return this.panel.view(track, await this.collaborators.onTrack(ownerId, trackId));
  }

  /**
   * Starts sharing the selected files (`f:<TrackFile id>` / `d:<Dropbox id>`) with the track's collaborators, or,
   * once started, shares what is new: newly selected files and collaborators added since. While a run is going,
   * the new work is recorded and a follow-up run starts when it ends. The share's settings (access level, expiry,
   * downloads) are taken at the first start; later starts keep them.
   */
  async start(
    ownerId: string,
    trackId: string,
    request: CollabSettingsInput & { files?: string[]; accessLevel?: AccessLevel },
  ): Promise<CollaborationView> {
    const selection = request.files ?? [];
    const track = await this.tracks.owned(ownerId, trackId);
    const onTrack = await this.collaborators.onTrack(ownerId, trackId);
    if (onTrack.length === 0) {
      throw new BadRequestException({
        field: 'files',
        message: 'this track has no collaborators yet: add them to the track first',
      });
    }
    // Imports files picked from the Dropbox folder; refuses (400) anything that isn't this track's.
    const files = selection.length ? await this.selected(ownerId, trackId, selection) : [];

    const ref = await this.db.freshTransaction(async () => {
      const pipeline = await this.pipelines.lockedForTrack(track.id, true);
      if (pipeline.status === 'not_shared' && files.length === 0) {
        throw new BadRequestException({
          field: 'files',
          message: 'select at least one file to share with collaborators',
        });
      }
      if (pipeline.status === 'not_shared') {
        if (request.accessLevel) pipeline.accessLevel = request.accessLevel;
        const settings = settingsFrom(request);
        if (files.every((f) => leftOutReason(f, settings.downloads, settings.includeDisabled))) {
          throw new BadRequestException({
            field: 'downloads',
            message:
              'downloads are off for every selected file, so none would go in the folder: turn downloads on for them, or choose to put them in anyway',
          });
        }
        applySettings(pipeline, settings, this.clock.now());
      } else {
        this.refuseAfterEnd(pipeline);
      }
      pipeline.folderPath ??= `${this.config.files.dropboxRoot}/${COLLABORATION_FOLDER}/${safeFolderName(track.title)} (${track.id.slice(0, 8)})`;
      await this.rows.addFiles(pipeline, files);
      await this.rows.syncMembers(pipeline, onTrack, false);
      if (pipeline.status === 'running') {
        pipeline.rerunRequested = true;
        return null;
      }
      return beginRun(pipeline);
    });
    if (ref) await ensureRunQueued(this.flows, this.queue, ref);
    return this.panel.view(track, onTrack);
  }

  /** After a failure (or when stuck): a new run that resumes where the work stopped. */
  async retry(ownerId: string, trackId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const onTrack = await this.collaborators.onTrack(ownerId, trackId);
    const ref = await this.db.freshTransaction(async () => {
      const pipeline = await this.pipelines.lockedForTrack(track.id, false);
      if (!pipeline || !(pipeline.status === 'failed' || this.isStuck(pipeline))) {
        throw new ConflictException({ field: 'status', message: 'only a failed or stuck pipeline can be retried' });
      }
      this.refuseAfterEnd(pipeline);
      // A corrected email (or one added since) is used; refused people are invited again.
      await this.rows.syncMembers(pipeline, onTrack, true);
      return beginRun(pipeline);
    });
    await ensureRunQueued(this.flows, this.queue, ref);
    return this.panel.view(track, onTrack);
  }

  /**
   * Forgets the pipeline: its queued jobs are removed, running ones stop at their next step (the generation changed),
   * and the track is "not shared with collaborators" again. The Dropbox folder and its members stay as they are.
   */
  async reset(ownerId: string, trackId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const old = await this.db.freshTransaction(async () => {
      const pipeline = await this.pipelines.lockedForTrack(track.id, false);
      if (!pipeline) return null;
      const previous: CollaborationStepJobData = {
        pipelineId: pipeline.id,
        generation: pipeline.generation,
        run: pipeline.run,
      };
      await this.files.nativeDelete({ pipeline: pipeline.id });
      await this.members.nativeDelete({ pipeline: pipeline.id });
      Object.assign(pipeline, {
        generation: pipeline.generation + 1,
        run: 0,
        status: 'not_shared',
        step: null,
        folderPath: null,
        sharedFolderId: null,
        folderUrl: null,
        copyJobId: null,
        copyAttempted: false,
        rerunRequested: false,
        errorCode: null,
        errorMessage: null,
        progressAt: null,
        membersRefreshedAt: null,
        startedAt: null,
        finishedAt: null,
        expiry: 'never',
        expiresAt: null,
        expiryVersion: 0,
        accessEndingAt: null,
        accessEndedAt: null,
        expiryError: null,
        downloadBounce: true,
        downloadProject: true,
        downloadStem: true,
        includeDisabled: false,
      } satisfies Partial<CollabPipeline>);
      return previous;
    });
    if (old) await removeRunJobs(this.queue, old);
    return this.panel.view(track, await this.collaborators.onTrack(ownerId, trackId));
  }

  /**
   * A new end for the share. A duration is counted from now (extend; if access had ended, the collaborators removed
   * then are invited again, once each, by a new run); `never` lifts the end; `now` ends access at once.
   */
  async updateExpiry(ownerId: string, trackId: string, choice: UpdateExpiryChoice): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const next = await this.db.freshTransaction(async () => {
      const pipeline = await this.pipelines.lockedForTrack(track.id, false);
      if (!pipeline || pipeline.status === 'not_shared') {
        throw new ConflictException({ field: 'expiry', message: 'the track is not shared with collaborators yet' });
      }
      if (pipeline.accessEndingAt && !pipeline.accessEndedAt) {
        throw new ConflictException({
          field: 'expiry',
          message: 'collaborators are being removed from the folder right now: try again in a moment',
        });
      }
      if (choice === 'now' && pipeline.accessEndedAt) {
        throw new ConflictException({
          field: 'expiry',
          message: `access already ended on ${formatDay(pipeline.accessEndedAt)}`,
        });
      }
      const now = this.clock.now();
      pipeline.expiryVersion += 1;
      pipeline.expiryError = null;
      if (choice === 'now') {
        pipeline.expiresAt = now;
        return { expire: expiryRefOf(pipeline), run: null };
      }
      applySettings(pipeline, { ...this.settingsOf(pipeline), expiry: choice }, now);
      if (!pipeline.accessEndedAt) return { expire: null, run: null };
      pipeline.accessEndedAt = null;
      await this.members.nativeUpdate(
        { pipeline: pipeline.id, state: 'removed' },
        { state: 'queued', error: null, updatedAt: new Date() },
      );
      if (pipeline.status === 'running') {
        pipeline.rerunRequested = true;
        return { expire: null, run: null };
      }
      return { expire: null, run: beginRun(pipeline) };
    });
    if (next.expire) await this.expiry.queueNow(next.expire);
    if (next.run) await ensureRunQueued(this.flows, this.queue, next.run);
    this.logger.log({ trackId, expiry: choice }, 'collaborator share’s end changed');
    return this.panel.view(track, await this.collaborators.onTrack(ownerId, trackId));
  }

  /** Re-reads who joined and who is still invited, from Dropbox, now. */
  async refresh(ownerId: string, trackId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const pipeline = await this.db.run(() => this.pipelines.findOne({ track: track.id }));
    if (!pipeline?.sharedFolderId)
      throw new ConflictException({ field: 'status', message: 'the track is not shared with collaborators yet' });
    await this.runner.refreshMembers(pipeline.id, ownerId);
    return this.panel.view(track, await this.collaborators.onTrack(ownerId, trackId));
  }

  /**
   * Sends an invitation again that is no longer pending (accepted under another address, or declined): the
   * producer decides, never the pipeline. Runs like "share with remaining".
   */
  async reinvite(ownerId: string, trackId: string, collaboratorId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const requeued = await this.db.run(async () => {
      const pipeline = await this.pipelines.findOne({ track: track.id });
      return pipeline
        ? this.members.nativeUpdate(
            { pipeline, collaborator: collaboratorId, state: 'gone' },
            { state: 'queued', acceptedAs: null, error: null, updatedAt: new Date() },
          )
        : 0;
    });
    if (!requeued) throw new NotFoundException('this collaborator has no invitation to send again');
    return this.start(ownerId, trackId, {});
  }

  /**
   * Takes a collaborator out of the track's shared folder (invitation withdrawn or membership ended). Offered when
   * they are removed from the track; works whether or not they are still on it.
   */
  async removeAccess(ownerId: string, trackId: string, collaboratorId: string): Promise<CollaborationView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const { pipeline, member } = await this.db.run(async () => {
      const pipeline = await this.pipelines.findOne({ track: track.id });
      const member = pipeline && (await this.members.findOne({ pipeline, collaborator: collaboratorId }));
      return { pipeline, member };
    });
    if (!pipeline || !member)
      throw new NotFoundException('this collaborator has no access to the track’s shared folder');
    if (
      pipeline.sharedFolderId &&
      member.email &&
      (member.state === 'invited' || member.state === 'joined' || member.state === 'queued')
    ) {
      const client = await this.dropbox.clientFor(ownerId);
      await client.removeFolderMember(pipeline.sharedFolderId, { email: member.email });
    }
    await this.members.nativeDelete({ id: member.id });
    this.logger.log({ trackId, collaboratorId }, 'collaborator removed from the shared folder');
    return this.panel.view(track, await this.collaborators.onTrack(ownerId, trackId));
  }

  /**
   * The scheduled sweep (a BullMQ job scheduler, so once per interval across all processes): re-queues running
   * pipelines whose jobs went missing (Redis lost them, or a process died between its database write and the
   * enqueue), and refreshes member states of shared pipelines, oldest first.
   */
  async sweep(): Promise<{ requeued: number; refreshed: number; expiring: number }> {
    // A job: its reads get a database context of their own.
    return this.db.run(async () => {
      const quietSince = new Date(Date.now() - 2 * this.config.workers.lockMs);
      const running = await this.pipelines.quietRunning(quietSince, 200);
      let requeued = 0;
      for (const p of running) if (await this.runner.ensureQueued(p)) requeued += 1;
      const expiring = await this.expiry.queueDue();

      const dueBefore = new Date(Date.now() - this.timings.refreshMs);
      const due = await this.pipelines.dueForMemberRefresh(dueBefore, SWEEP_REFRESH_LIMIT);
      let refreshed = 0;
      for (const p of due) {
        try {
          await this.runner.refreshMembers(p.id, p.track.owner.id);
          refreshed += 1;
        } catch (err) {
          this.logger.warn(
            { pipelineId: p.id, err: err instanceof Error ? err.message : String(err) },
            'member refresh failed',
          );
        }
      }
      if (requeued) this.logger.warn({ requeued }, 're-queued collaboration runs whose jobs were missing');
      return { requeued, refreshed, expiring };
    });
  }

  // -------------------------------------------------------------------------------------------------------------

  /** The selection as files of the track; a refusal names the form's field (`files`), whatever the library called it. */
  private async selected(ownerId: string, trackId: string, selection: string[]): Promise<TrackFile[]> {
    try {
      return await this.library.resolveSelection(ownerId, trackId, selection);
    } catch (err) {
      if (!(err instanceof BadRequestException)) throw err;
      const answer = err.getResponse() as { message?: unknown };
      const message = typeof answer === 'object' && answer?.message ? String(answer.message) : err.message;
      throw new BadRequestException({ field: 'files', message });
    }
  }

  private settingsOf(p: CollabPipeline) {
    return { expiry: p.expiry, downloads: downloadsOf(p), includeDisabled: p.includeDisabled };
  }

  /** Once the end has come, nobody is invited or re-invited until the producer extends the share. */
  private refuseAfterEnd(p: CollabPipeline): void {
    if (!p.expiresAt || p.expiresAt > this.clock.now()) return;
    const when = p.accessEndedAt ? `ended on ${formatDay(p.accessEndedAt)}` : 'is ending';
    throw new ConflictException({
      field: 'expiry',
      message: `collaborators’ access ${when}: extend the share to invite them again`,
    });
  }

  private isStuck(pipeline: CollabPipeline): boolean {
    return isStuck(pipeline, this.timings.stuckMs);
  }
}
