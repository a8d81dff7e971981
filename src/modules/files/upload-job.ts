import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue, UnrecoverableError } from 'bullmq';
import { rm } from 'node:fs/promises';
import { numberedName } from '../../common/free-names';
import { DbContext } from '../../database/db-context';
import { enqueuePreview, QueueName } from '../../queues/queues';
import { DropboxConflict, DropboxError, DropboxNotFound, DropboxPermanent } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { DropboxEntry, UploadOptions } from '../dropbox/dropbox.types';
import { fileUploadSource } from '../dropbox/file-upload-source';
import { audioInfoOfFile } from './audio-metadata';
import { CATEGORY_FOLDERS, isAudio } from './file-categories';
import { Track } from './entities/track.entity';
import type { TrackFile } from './entities/track-file.entity';
import type { Upload } from './entities/upload.entity';
import { LibraryChanges } from './library-changes';
import { TrackFileRepository } from './repositories/track-file.repository';
import { UploadRepository } from './repositories/upload.repository';
import { uploadRefusalMessage } from './upload-refusals';

const PROGRESS_WRITE_EVERY_MS = 500;

/** Where an upload goes, and what is there when choosing it asked Dropbox already (so it isn't asked twice). */
interface Target {
  path: string;
  existing?: DropboxEntry | null;
}

/** The entry at a path or id, or null when there is none. */
function metadataOrNull(client: DropboxAccountClient, pathOrId: string): Promise<DropboxEntry | null> {
  return client.getMetadata(pathOrId).catch((err: unknown) => {
    if (err instanceof DropboxNotFound) return null;
    throw err;
  });
}

/**
 * The second half of an upload from the dashboard: the job streams the spooled file into Dropbox with resumable
 * upload sessions, then adds it to the library. The upload row is the job's state (target path, session checkpoint,
 * progress), so a killed worker resumes where it stopped and a retry never stores the file twice.
 */
@Injectable()
export class UploadJob {
  private readonly logger = new Logger(UploadJob.name);

  constructor(
    private readonly db: DbContext,
    private readonly uploads: UploadRepository,
    private readonly files: TrackFileRepository,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Media) private readonly media: Queue,
    private readonly changes: LibraryChanges,
  ) {}

  /** The job: idempotent, resumable. Returns when the file is in Dropbox and in the library. */
  async process(uploadId: string, isLastAttempt: boolean): Promise<void> {
    await this.db.run(async () => {
      const upload = await this.uploads.findOne({ id: uploadId }, { populate: ['track'] });
      if (!upload) return;
      if (upload.status === 'failed') {
        // Failed meanwhile (its spool host was declared gone while this job waited): only a retry sends it now.
        this.logger.warn({ uploadId, error: upload.error }, 'upload job skipped: the upload has failed');
        return;
      }
      if (upload.status === 'done') {
        // A run that died after storing the file but before telling the shares: tell them now (it is idempotent).
        await this.changes.changed([upload.track.id]);
        return;
      }
      const track = upload.track as Track;
      try {
        const client = await this.dropbox.clientFor(track.owner.id);
        upload.status = 'uploading';
        upload.error = null;
        await this.db.flush();
        const entry = await this.putInDropbox(client, track, upload);
        await this.finish(track, upload, entry);
      } catch (err) {
        await this.recordFailure(upload, err, isLastAttempt);
        throw err instanceof DropboxError && !err.retryable ? new UnrecoverableError(err.message) : err;
      }
    });
  }

  private async putInDropbox(client: DropboxAccountClient, track: Track, upload: Upload): Promise<DropboxEntry> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      // What is at the target now, when choosing it already asked Dropbox (undefined: not asked yet).
      let seen: DropboxEntry | null | undefined;
      if (!upload.targetPath) {
        const target =
          upload.conflict === 'replace'
            ? await this.replaceTarget(client, track, upload)
            : await this.chooseTarget(client, track, upload);
        upload.targetPath = target.path;
        seen = target.existing;
        upload.checkpoint = null;
        await this.db.flush();
      }
      // A previous run may have finished in Dropbox just before it died: adopt that file instead of a copy.
      const existing = seen !== undefined ? seen : await metadataOrNull(client, upload.targetPath);
      let mode: UploadOptions['mode'] = 'add';
      if (existing) {
        if (existing.kind === 'file' && existing.contentHash === upload.contentHash) return existing;
        if (upload.conflict === 'replace' && existing.kind === 'file' && existing.rev) {
          // A new revision of that very file (same id): written only over the revision just seen, so a write
          // made meanwhile by someone else is a conflict and is looked at again rather than silently replaced.
          mode = { update: existing.rev };
        } else {
          upload.targetPath = null; // someone else's file took the name meanwhile
          continue;
        }
      }
      try {
        let lastWrite = 0;
        return await client.upload(upload.targetPath, fileUploadSource(upload.spoolPath, upload.size), {
          mode,
          autorename: false,
          checkpoint: upload.checkpoint ?? null,
          onCheckpoint: async (checkpoint) => {
            upload.checkpoint = checkpoint;
            if (checkpoint) upload.bytesUploaded = checkpoint.offset;
            await this.db.flush();
            lastWrite = Date.now();
          },
          onProgress: (sent) => {
            upload.bytesUploaded = sent;
            if (Date.now() - lastWrite > PROGRESS_WRITE_EVERY_MS) {
              lastWrite = Date.now();
              void this.uploads.nativeUpdate({ id: upload.id }, { bytesUploaded: sent }).catch(() => undefined);
            }
          },
        });
      } catch (err) {
        if (err instanceof DropboxConflict) continue; // re-check the target: ours (adopt) or someone else's (new name)
        // The upload session expired or was already consumed: start it again from the first byte.
        if (
          err instanceof DropboxPermanent &&
          err.tags.some((t) => t === 'not_found' || t === 'closed' || t === 'incorrect_offset')
        ) {
          upload.checkpoint = null;
          upload.bytesUploaded = 0;
          await this.db.flush();
          continue;
        }
        throw err;
      }
    }
    throw new Error(`could not find a free name for ${upload.fileName}`);
  }

  /** `<track folder>/<Category>/<name>`, or "<name> (2).<ext>"… when a different file already has that name. */
  private async chooseTarget(client: DropboxAccountClient, track: Track, upload: Upload): Promise<Target> {
    const path = `${await this.trackFolderPath(client, track)}/${CATEGORY_FOLDERS[upload.category]}/${upload.fileName}`;
    for (let n = 1; n < 500; n += 1) {
      const candidate = numberedName(path, n);
      const existing = await metadataOrNull(client, candidate);
      if (!existing || (existing.kind === 'file' && existing.contentHash === upload.contentHash))
        return { path: candidate, existing };
    }
    throw new Error(`no free name for ${upload.fileName}`);
  }

  /**
   * Replace: the library file of that name in the category (wherever it sits in Dropbox now, followed by id), else
   * the name in the category's folder. Whatever is there gets a new revision; nothing there: a plain upload.
   */
  private async replaceTarget(client: DropboxAccountClient, track: Track, upload: Upload): Promise<Target> {
    const lower = upload.fileName.toLowerCase();
    const candidates = await this.files.find({
      track,
      category: upload.category,
      status: 'ready',
      isPackage: false,
    });
    const same = candidates.find((f) => f.name.toLowerCase() === lower);
    if (same) {
      const current = await metadataOrNull(client, same.dropboxId);
      if (current?.kind === 'file') {
        // A file outside the mounted tree (a team space) has no path: replacing it by path would write elsewhere.
        if (!current.pathDisplay) throw new DropboxPermanent('folder not reachable', ['folder_not_reachable']);
        return { path: current.pathDisplay, existing: current };
      }
    }
    return {
      path: `${await this.trackFolderPath(client, track)}/${CATEGORY_FOLDERS[upload.category]}/${upload.fileName}`,
    };
  }

  private async trackFolderPath(client: DropboxAccountClient, track: Track): Promise<string> {
    if (!track.dropboxFolderId) throw new DropboxPermanent('the track has no Dropbox folder', ['no_folder']);
    const folder = await client.getMetadata(track.dropboxFolderId);
    // Moved outside the producer's mounted tree (a team space): Dropbox answers by id but with no path. Writing to
    // "" + "/Bounces/…" would land at the root of their Dropbox, so nothing is written.
    if (!folder.pathDisplay) throw new DropboxPermanent('folder not reachable', ['folder_not_reachable']);
    return folder.pathDisplay;
  }

  /** The file joins the library (once: the (track, dropbox id) pair is unique) and the spool is cleared. */
  private async finish(track: Track, upload: Upload, entry: DropboxEntry): Promise<void> {
    const audio = isAudio(upload.fileName) ? await audioInfoOfFile(upload.spoolPath) : null;
    let file: TrackFile | null = null;
    await this.db.transaction(async () => {
      const modifiedAt = entry.serverModified ? new Date(entry.serverModified) : new Date();
      file = await this.files.findOne({ track, dropboxId: entry.id });
      if (!file) {
        file = this.files.create({
          track,
          category: upload.category,
          name: entry.name,
          dropboxId: entry.id,
          dropboxPath: entry.pathDisplay,
          rev: entry.rev ?? null,
          size: entry.size ?? upload.size,
          contentHash: entry.contentHash ?? upload.contentHash,
          modifiedAt,
          ...(audio ?? {}),
        });
      } else if (file.rev !== (entry.rev ?? null) || file.contentHash !== (entry.contentHash ?? upload.contentHash)) {
        // A new version of a library file: same row (same id, on every share), the new revision's facts.
        Object.assign(file, {
          name: entry.name,
          dropboxPath: entry.pathDisplay,
          rev: entry.rev ?? null,
          size: entry.size ?? upload.size,
          contentHash: entry.contentHash ?? upload.contentHash,
          status: 'ready',
          modifiedAt,
          ...(audio ?? {}),
        });
      }
      const fresh = await this.uploads.findOneOrFail({ id: upload.id });
      fresh.status = 'done';
      // A note written meanwhile (its host was thought gone while it was only slow) no longer applies.
      fresh.error = null;
      fresh.bytesUploaded = upload.size;
      fresh.checkpoint = null;
      fresh.trackFile = file;
    });
    upload.status = 'done';
    await this.changes.changed([track.id]);
    await rm(upload.spoolPath, { force: true });
    const stored = file as TrackFile | null;
    if (stored && isAudio(stored.name)) {
      // Its preview for listeners; a crash before this line is made good when the file is shared or played.
      await enqueuePreview(this.media, stored);
    }
    this.logger.log({ uploadId: upload.id, path: entry.pathDisplay }, 'upload stored in Dropbox');
  }

  private async recordFailure(upload: Upload, err: unknown, isLastAttempt: boolean): Promise<void> {
    const permanent = err instanceof DropboxError && !err.retryable;
    const message = uploadRefusalMessage(err, upload.fileName);
    await this.uploads.nativeUpdate(
      { id: upload.id },
      permanent || isLastAttempt
        ? { status: 'failed', error: message }
        : { status: 'queued', error: `retrying: ${message}` },
    );
  }
}
