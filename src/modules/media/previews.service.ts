import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Queue, UnrecoverableError } from 'bullmq';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { enqueuePreview, previewJob, QueueName, revisionKey } from '../../queues/queues';
import { DropboxError, DropboxNotFound } from '../dropbox/dropbox.errors';
import type { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { fileUploadSource } from '../dropbox/file-upload-source';
import { TemporaryLinksService } from '../dropbox/temporary-links.service';
import type { TrackFile } from '../files/entities/track-file.entity';
import type { Track } from '../files/entities/track.entity';
import { isPlayable } from '../files/file-categories';
import { LibraryService } from '../files/library.service';
import { TrackCatalog } from '../files/track-catalog.service';
import type { MediaPreview, PreviewStatus } from './entities/media-preview.entity';
import { ffmpegVersion, FfmpegMissing, renderPreview, UndecodableAudio } from './ffmpeg';
import { peaksFromBuffer, peaksToBuffer, type Peaks } from './peaks';
import { MediaPreviewRepository } from './repositories/media-preview.repository';

/** The fields of a library file that decide its preview. */
export type PreviewableFile = Pick<TrackFile, 'id' | 'name' | 'isPackage' | 'contentHash' | 'rev'>;

export const NO_FFMPEG = 'ffmpeg is not installed on the server, so previews cannot be made yet';
/** How long a built preview's place in Dropbox is served from Redis (a rendition deleted meanwhile is noticed anyway). */
const READY_CACHE_MS = 10 * 60_000;

/** How a file's preview stands, for pages and the API. */
export interface PreviewSummary {
  status: PreviewStatus;
  reason: string | null;
  peaks: Peaks | null;
  durationSeconds: number | null;
  loudnessLufs: number | null;
  truePeakDb: number | null;
}

/** What the play route can do with a file's preview right now. */
export type ServablePreview =
  { state: 'ready'; link: string } | { state: 'pending'; reason: string | null } | { state: 'failed'; reason: string };

/** Previews are made of what can be played. */
export function isPreviewable(file: Pick<TrackFile, 'name' | 'isPackage'>): boolean {
  return isPlayable(file);
}

function isNotFound(err: unknown): boolean {
  return err instanceof DropboxNotFound || (err instanceof DropboxError && err.tags.includes('not_found'));
}

/**
 * Previews: for every revision of an audio file on a share or in a library, a lossy rendition (AAC in MP4) kept
 * in the producer's own Dropbox under `<DROPBOX_ROOT>/.previews/`, the waveform's peaks and the loudness, built by
 * ffmpeg in a job. Listen-only audio is only ever served from here, never from the original.
 */
@Injectable()
export class PreviewsService implements OnModuleInit {
  private readonly logger = new Logger(PreviewsService.name);
  /** ffmpeg's version line in this process, null when it is missing; known once the module has started. */
  ffmpeg: string | null = null;

  constructor(
    private readonly db: DbContext,
    private readonly previews: MediaPreviewRepository,
    private readonly catalog: TrackCatalog,
    @InjectQueue(QueueName.Media) private readonly queue: Queue,
    private readonly dropbox: DropboxConnectionsService,
    private readonly links: TemporaryLinksService,
    private readonly library: LibraryService,
    private readonly redis: RedisService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.ffmpeg = await ffmpegVersion(this.config.media.ffmpegPath);
    if (!this.ffmpeg) {
      // Once, at start: the server runs, and listen-only audio waits (it is never replaced by the original).
      this.logger.warn(
        { ffmpegPath: this.config.media.ffmpegPath },
        'ffmpeg was not found: previews cannot be built, so listen-only audio cannot be played until it is installed (apt-get install ffmpeg, or set FFMPEG_PATH)',
      );
    }
  }

  get ffmpegMissing(): boolean {
    return this.ffmpeg === null;
  }

  /** Asks for the previews of these files' current revisions; what is built or being built already is left alone. */
  async request(files: PreviewableFile[]): Promise<void> {
    const wanted = files.filter((f) => isPreviewable(f) && revisionKey(f));
    if (wanted.length === 0) return;
    await this.previews.insertPending(wanted.map((f) => ({ file: f.id, revision: revisionKey(f)! })));
    await this.queue.addBulk(wanted.map((f) => previewJob(f)));
  }

  /** Previews of these files' current revisions, by file id; a file without one has none in the map. */
  async forFiles(files: PreviewableFile[]): Promise<Map<string, PreviewSummary>> {
    const audio = files.filter(isPreviewable);
    const result = new Map<string, PreviewSummary>();
    if (audio.length === 0) return result;
    const rows = await this.previews.ofFiles(audio.map((f) => f.id));
    const current = new Map(audio.map((f) => [f.id, revisionKey(f)]));
    for (const row of rows) {
      if (current.get(row.file.id) !== row.revision) continue;
      result.set(row.file.id, {
        status: row.status,
        reason: row.status === 'pending' && !row.reason && this.ffmpegMissing ? NO_FFMPEG : (row.reason ?? null),
        peaks: row.peaks ? peaksFromBuffer(row.peaks) : null,
        durationSeconds: row.durationSeconds ?? null,
        loudnessLufs: row.loudnessLufs ?? null,
        truePeakDb: row.truePeakDb ?? null,
      });
    }
    return result;
  }

  /**
   * The preview of the file's revision as the play route may serve it: a temporary link to the rendition (for
   * our relay only), or why there is none yet. A rendition deleted in Dropbox is asked for again.
   */
  async servable(client: DropboxAccountClient, file: PreviewableFile): Promise<ServablePreview> {
    const revision = revisionKey(file);
    if (!revision || !isPreviewable(file)) return { state: 'failed', reason: 'this file has no audio to preview' };
    // A player asks again for every seek: a built preview's place in Dropbox is kept in Redis, not asked of SQL.
    const readyKey = this.redis.key('media', 'ready', file.id, revision);
    const cached = await this.redis.client.get(readyKey);
    if (cached) {
      const { id, rev } = JSON.parse(cached) as { id: string; rev: string };
      const served = await this.linkOrRebuild(client, file, id, rev, readyKey);
      if (served) return served;
    }
    const row = await this.previews.findFresh({ file: file.id, revision });
    if (!row) {
      await this.request([file]);
      return { state: 'pending', reason: this.ffmpegMissing ? NO_FFMPEG : null };
    }
    if (row.status === 'failed')
      return { state: 'failed', reason: row.reason ?? 'no preview could be made of this file' };
    if (row.status === 'pending' || !row.dropboxId || !row.dropboxRev) {
      await this.ensureJob(file, row);
      return { state: 'pending', reason: row.reason ?? (this.ffmpegMissing ? NO_FFMPEG : null) };
    }
    const served = await this.linkOrRebuild(client, file, row.dropboxId, row.dropboxRev, readyKey);
    if (served) {
      await this.redis.client.set(
        readyKey,
        JSON.stringify({ id: row.dropboxId, rev: row.dropboxRev }),
        'PX',
        READY_CACHE_MS,
      );
      return served;
    }
    return { state: 'pending', reason: null };
  }

  /** The rendition's temporary link; null when someone deleted it in Dropbox, and then it is built again. */
  private async linkOrRebuild(
    client: DropboxAccountClient,
    file: PreviewableFile,
    id: string,
    rev: string,
    readyKey: string,
  ): Promise<ServablePreview | null> {
    try {
      const { link } = await this.links.link(client, { id, rev });
      return { state: 'ready', link };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.redis.client.del(readyKey);
    const row = await this.previews.findFresh({ file: file.id, dropboxId: id });
    if (!row) return null;
    // A new job id for the rebuild: the first build's job is kept as done.
    if (await this.previews.claimRebuild(row)) {
      await enqueuePreview(this.queue, file, row.rebuilds + 1);
      this.logger.warn({ fileId: file.id }, 'a preview was missing in Dropbox; building it again');
    }
    return null;
  }

  /** A pending preview whose job ran out of attempts (Dropbox away for a long time, say) gets its job going again. */
  private async ensureJob(file: PreviewableFile, row: MediaPreview): Promise<void> {
    const job = await this.queue.getJob(previewJob(file, row.rebuilds).opts.jobId);
    if (!job) await enqueuePreview(this.queue, file, row.rebuilds);
    else if (await job.isFailed()) await job.retry();
  }

  /**
   * The job: builds the preview of the file's live revision (asked of Dropbox, so a job queued for an older
   * revision builds the newest), stores the rendition in Dropbox and the peaks and loudness here, then removes the
   * previews of older revisions. Running it again for a built revision does nothing.
   */
  async build(trackFileId: string, lastAttempt: boolean): Promise<void> {
    await this.db.run(async () => {
      const file = await this.catalog.fileWithTrack(trackFileId);
      if (!file || !isPreviewable(file)) return;
      const client = await this.dropbox.clientFor((file.track as Track).owner.id);
      let live;
      try {
        live = await client.getMetadata(file.dropboxId);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.library.markMissing(file.id);
        return;
      }
      if (live.kind !== 'file' || !live.rev) return;
      // The live revision is what plays next. The library row learns it where files are served (the share's
      // revision check), not here: two writers with different views of "now" would flip it back and forth.
      const current = {
        id: file.id,
        name: file.name,
        isPackage: false,
        dropboxId: file.dropboxId,
        rev: live.rev,
        contentHash: live.contentHash ?? null,
      };
      const revision = revisionKey(current)!;
      await this.previews.insertPending([{ file: file.id, revision }]);
      const row = await this.previews.findOneOrFail({ file: file.id, revision });
      if (row.status === 'ready' && row.dropboxId) return;
      if (row.status === 'failed') return;
      await this.render(client, row, current, lastAttempt);
      await this.removeOlder(client, file.id, revision);
    });
  }

  private async render(
    client: DropboxAccountClient,
    row: MediaPreview,
    file: PreviewableFile & { dropboxId: string; rev: string },
    lastAttempt: boolean,
  ): Promise<void> {
    const started = performance.now();
    // The rendition waits in the temp folder only until it is in Dropbox (seconds; a few MB), never in the uploads' spool.
    const dir = await mkdtemp(join(tmpdir(), 'pd-preview-'));
    const output = join(dir, `${row.id}.m4a`);
    try {
      const source = await this.links.link(client, { id: file.dropboxId, rev: file.rev });
      const rendered = await renderPreview(this.config.media.ffmpegPath, source.link, output);
      const { size } = await stat(output);
      const path = `${this.config.files.dropboxRoot}/.previews/${file.id}-${row.revision.slice(0, 16)}.m4a`;
      const entry = await client.upload(path, fileUploadSource(output, size), { mode: 'overwrite' });
      Object.assign(row, {
        status: 'ready',
        reason: null,
        dropboxId: entry.id,
        dropboxPath: entry.pathDisplay,
        dropboxRev: entry.rev ?? null,
        size,
        durationSeconds: rendered.durationSeconds,
        peaks: peaksToBuffer(rendered.peaks),
        loudnessLufs: rendered.loudness.integratedLufs,
        truePeakDb: rendered.loudness.truePeakDb,
        buildMs: Math.round(performance.now() - started),
      });
      await this.db.flush();
      this.logger.log(
        { fileId: file.id, ms: row.buildMs, seconds: Math.round(rendered.durationSeconds), bytes: size },
        'preview built',
      );
    } catch (err) {
      if (err instanceof UndecodableAudio) {
        await this.previews.nativeUpdate(
          { id: row.id },
          { status: 'failed', reason: `ffmpeg could not read this file: ${err.reason}` },
        );
        throw new UnrecoverableError(err.message);
      }
      const message = err instanceof FfmpegMissing ? NO_FFMPEG : err instanceof Error ? err.message : String(err);
      await this.previews.nativeUpdate(
        { id: row.id },
        lastAttempt ? { status: 'failed', reason: message } : { reason: `retrying: ${message}` },
      );
      throw err;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** One preview per file: once the live revision's is built, the older revisions' renditions and rows go. */
  private async removeOlder(client: DropboxAccountClient, fileId: string, revision: string): Promise<void> {
    const older = await this.previews.find({ file: fileId, revision: { $ne: revision } });
    for (const row of older) {
      if (row.dropboxId) await client.deleteEntry(row.dropboxId);
      await this.previews.nativeDelete({ id: row.id });
    }
  }
}
