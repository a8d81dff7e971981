import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bullmq';
import {
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import busboy from 'busboy';
import { RequestBudget, SpoolBudget } from './spool-budget';
import { Queue, UnrecoverableError } from 'bullmq';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DropboxContentHasher } from '../dropbox/content-hash';
import { DropboxConflict, DropboxError, DropboxNotFound, DropboxPermanent } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { fileUploadSource } from '../dropbox/file-upload-source';
import type { DropboxEntry, UploadOptions } from '../dropbox/dropbox.types';
import { enqueuePreview, jobId, QueueName } from '../../queues/queues';
import { audioInfoOfFile } from './audio-metadata';
import { CATEGORY_FOLDERS, FILE_CATEGORIES, FileCategory, inferCategory, isAudio } from './file-categories';
import { Track } from './entities/track.entity';
import { TrackFile } from './entities/track-file.entity';
import { Upload, UPLOAD_CONFLICTS, UploadConflict, UploadStatus } from './entities/upload.entity';
import { LibraryChanges } from './library-changes';
import { dropboxNameProblem, fileNameProblem } from './names';
import { uploadRefusalMessage } from './upload-refusals';
import { TracksService } from './tracks.service';
import { SPOOL_HOST_GONE_MESSAGE, SpoolHosts } from './spool-hosts';

export interface UploadView {
  id: string;
  trackId: string;
  fileName: string;
  category: FileCategory;
  size: number;
  status: UploadStatus;
  bytesUploaded: number;
  /** 0–100 through the Dropbox step (the browser shows its own progress for the step before). */
  percent: number;
  error: string | null;
  trackFileId: string | null;
  /** `replace`: a file of that name in the category gets a new version; `rename`: both are kept. */
  conflict: UploadConflict;
  /** The name it has in Dropbox once a target is chosen ("Take (2).wav" when both were kept). */
  storedAs: string | null;
}

export function toUploadView(upload: Upload): UploadView {
  return {
    id: upload.id,
    trackId: upload.track.id,
    fileName: upload.fileName,
    category: upload.category,
    size: upload.size,
    status: upload.status,
    bytesUploaded: upload.bytesUploaded,
    percent: upload.size === 0 ? 100 : Math.floor((upload.bytesUploaded / upload.size) * 100),
    error: upload.error ?? null,
    trackFileId: upload.trackFile?.id ?? null,
    conflict: upload.conflict,
    storedAs: upload.targetPath ? upload.targetPath.slice(upload.targetPath.lastIndexOf('/') + 1) : null,
  };
}

/** A file of a multi-file upload that Dropbox would refuse by its name: not kept, and said so. */
export interface SkippedUpload {
  id: null;
  fileName: string;
  status: 'skipped';
  /** Why, in words ("Dropbox does not store system files such as .DS_Store…"). */
  error: string;
}

interface Spooled {
  fileName: string;
  category: FileCategory;
  conflict: UploadConflict;
  path: string;
  size: number;
  contentHash: string;
}

const PROGRESS_WRITE_EVERY_MS = 500;
const MAX_FILES_PER_REQUEST = 50;

/**
 * Uploads from the dashboard: the browser streams each file (multipart) to the server, which spools it to
 * disk while hashing it, then a job streams it into Dropbox with resumable upload sessions. The upload row is
 * the job's state (target path, session checkpoint, progress), so a killed worker resumes where it stopped
 * and a retry never stores the file twice.
 */
@Injectable()
export class UploadsService {
  private readonly logger = new Logger(UploadsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly orm: MikroORM,
    private readonly tracks: TracksService,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Media) private readonly media: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly changes: LibraryChanges,
    private readonly budget: SpoolBudget,
    private readonly spoolHosts: SpoolHosts,
  ) {}

  /**
   * Receives a multipart request of one or more files (and optional `category` fields, each applying to the
   * files after it). Every file is checked; if any is refused, nothing is kept. Files Dropbox refuses by name
   * (.DS_Store, a trailing space…) are skipped with a note each; a request of nothing else is refused.
   */
  async receive(ownerId: string, trackId: string, req: Request): Promise<Array<UploadView | SkippedUpload>> {
    const track = await this.tracks.owned(ownerId, trackId);
    await this.dropbox.clientFor(ownerId); // no connection: refuse before taking gigabytes
    if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      throw new BadRequestException({ field: 'files', message: 'send the files as multipart/form-data' });
    }
    await mkdir(this.config.files.spoolDir, { recursive: true });

    const spooled: Spooled[] = [];
    const problems: Array<{ field: string; message: string }> = [];
    const written: string[] = [];
    const skipped: SkippedUpload[] = [];
    try {
      const declared = Number(req.headers['content-length']);
      const budget = await this.budget.open(ownerId, Number.isFinite(declared) && declared >= 0 ? declared : null);
      await this.parse(req, spooled, problems, written, skipped, budget);
      if (problems.length === 0 && spooled.length === 0) {
        if (skipped.length)
          problems.push(
            ...skipped.map((f) => ({
              field: 'files',
              message: `${JSON.stringify(f.fileName.slice(0, 80))}: ${f.error}`,
            })),
          );
        else problems.push({ field: 'files', message: 'choose at least one file' });
      }
      if (problems.length) {
        const tooLarge = problems.find((p) => p.message.includes('larger than'));
        const body = { message: problems.map((p) => p.message).join('; '), errors: problems };
        throw tooLarge ? new PayloadTooLargeException(body) : new BadRequestException(body);
      }
    } catch (err) {
      // Every file this request started writing goes, including ones cut off mid-stream.
      await Promise.all(written.map((path) => rm(path, { force: true })));
      // The rest of the body is not read: close the connection after the answer.
      if (!req.complete) req.res?.setHeader('Connection', 'close');
      throw err;
    }

    const uploads = spooled.map((s) =>
      this.em.create(Upload, {
        track,
        category: s.category,
        conflict: s.conflict,
        fileName: s.fileName,
        size: s.size,
        contentHash: s.contentHash,
        spoolPath: s.path,
        spoolHost: this.spoolHosts.ownHost,
      }),
    );
    await this.em.persistAndFlush(uploads);
    await this.spoolHosts.enqueue(uploads, (id) => jobId('upload', id));
    return [...uploads.map(toUploadView), ...skipped];
  }

  async list(ownerId: string, trackId: string): Promise<UploadView[]> {
    const track = await this.tracks.owned(ownerId, trackId);
    const since = new Date(Date.now() - 24 * 3600_000);
    // A failed upload stays listed however old it is: its file waits on the server until it is retried or discarded.
    const uploads = await this.em.find(
      Upload,
      { track, $or: [{ createdAt: { $gte: since } }, { status: 'failed' }] },
      { orderBy: { createdAt: 'desc' }, limit: 200 },
    );
    return uploads.map(toUploadView);
  }

  async get(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.em.findOne(Upload, { id: uploadId, track: { owner: ownerId } });
    if (!upload) throw new NotFoundException('upload not found');
    return toUploadView(upload);
  }

  /** Retries a failed upload from where it stopped. */
  async retry(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.em.findOne(Upload, { id: uploadId, track: { owner: ownerId } });
    if (!upload) throw new NotFoundException('upload not found');
    if (upload.status !== 'failed')
      throw new BadRequestException({ field: 'id', message: 'only a failed upload can be retried' });
    // Its bytes are on that host's disk alone: with the host gone there is nothing to send.
    if (
      upload.spoolHost &&
      upload.spoolHost !== this.spoolHosts.ownHost &&
      !(await this.spoolHosts.alive(upload.spoolHost))
    ) {
      throw new BadRequestException({ field: 'id', message: SPOOL_HOST_GONE_MESSAGE });
    }
    upload.status = 'queued';
    upload.error = null;
    await this.em.flush();
    // A new job id: the failed job keeps its history in the dashboard.
    const retryId = Date.now();
    await this.spoolHosts.enqueue([upload], (id) => jobId('upload', id, retryId));
    return toUploadView(upload);
  }

  /** Gives up on a failed upload: its spooled file is deleted and the row forgotten. */
  async discard(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.em.findOne(Upload, { id: uploadId, track: { owner: ownerId } });
    if (!upload) throw new NotFoundException('upload not found');
    if (upload.status !== 'failed')
      throw new BadRequestException({ field: 'id', message: 'only a failed upload can be discarded' });
    const view = toUploadView(upload);
    await this.em.removeAndFlush(upload);
    await rm(upload.spoolPath, { force: true });
    return view;
  }

  /** The job: idempotent, resumable. Returns when the file is in Dropbox and in the library. */
  async process(uploadId: string, isLastAttempt: boolean): Promise<void> {
    await RequestContext.create(this.orm.em, async () => {
      const em = this.orm.em;
      const upload = await em.findOne(Upload, { id: uploadId }, { populate: ['track'] });
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
        await em.flush();
        const entry = await this.putInDropbox(em, client, track, upload);
        await this.finish(em, track, upload, entry);
      } catch (err) {
        await this.recordFailure(em, upload, err, isLastAttempt);
        throw err instanceof DropboxError && !err.retryable ? new UnrecoverableError(err.message) : err;
      }
    });
  }

  private async putInDropbox(
    em: EntityManager,
    client: DropboxAccountClient,
    track: Track,
    upload: Upload,
  ): Promise<DropboxEntry> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      if (!upload.targetPath) {
        upload.targetPath =
          upload.conflict === 'replace'
            ? await this.replaceTarget(em, client, track, upload)
            : await this.chooseTarget(client, track, upload);
        upload.checkpoint = null;
        await em.flush();
      }
      // A previous run may have finished in Dropbox just before it died: adopt that file instead of a copy.
      const existing = await client.getMetadata(upload.targetPath).catch((err: unknown) => {
        if (err instanceof DropboxNotFound) return null;
        throw err;
      });
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
            await em.flush();
            lastWrite = Date.now();
          },
          onProgress: (sent) => {
            upload.bytesUploaded = sent;
            if (Date.now() - lastWrite > PROGRESS_WRITE_EVERY_MS) {
              lastWrite = Date.now();
              void em.nativeUpdate(Upload, { id: upload.id }, { bytesUploaded: sent }).catch(() => undefined);
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
          await em.flush();
          continue;
        }
        throw err;
      }
    }
    throw new Error(`could not find a free name for ${upload.fileName}`);
  }

  /** `<track folder>/<Category>/<name>`, or "<name> (2).<ext>"… when a different file already has that name. */
  private async chooseTarget(client: DropboxAccountClient, track: Track, upload: Upload): Promise<string> {
    const folder = `${await this.trackFolderPath(client, track)}/${CATEGORY_FOLDERS[upload.category]}`;
    const dot = upload.fileName.lastIndexOf('.');
    const stem = dot > 0 ? upload.fileName.slice(0, dot) : upload.fileName;
    const ext = dot > 0 ? upload.fileName.slice(dot) : '';
    for (let n = 1; n < 500; n += 1) {
      const candidate = `${folder}/${n === 1 ? upload.fileName : `${stem} (${n})${ext}`}`;
      const existing = await client.getMetadata(candidate).catch((err: unknown) => {
        if (err instanceof DropboxNotFound) return null;
        throw err;
      });
      if (!existing || (existing.kind === 'file' && existing.contentHash === upload.contentHash)) return candidate;
    }
    throw new Error(`no free name for ${upload.fileName}`);
  }

  /**
   * Replace: the library file of that name in the category (wherever it sits in Dropbox now, followed by id), else
   * the name in the category's folder. Whatever is there gets a new revision; nothing there: a plain upload.
   */
  private async replaceTarget(
    em: EntityManager,
    client: DropboxAccountClient,
    track: Track,
    upload: Upload,
  ): Promise<string> {
    const lower = upload.fileName.toLowerCase();
    const candidates = await em.find(TrackFile, {
      track,
      category: upload.category,
      status: 'ready',
      isPackage: false,
    });
    const same = candidates.find((f) => f.name.toLowerCase() === lower);
    if (same) {
      const current = await client.getMetadata(same.dropboxId).catch((err: unknown) => {
        if (err instanceof DropboxNotFound) return null;
        throw err;
      });
      if (current?.kind === 'file') {
        // A file outside the mounted tree (a team space) has no path: replacing it by path would write elsewhere.
        if (!current.pathDisplay) throw new DropboxPermanent('folder not reachable', ['folder_not_reachable']);
        return current.pathDisplay;
      }
    }
    return `${await this.trackFolderPath(client, track)}/${CATEGORY_FOLDERS[upload.category]}/${upload.fileName}`;
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
  private async finish(em: EntityManager, track: Track, upload: Upload, entry: DropboxEntry): Promise<void> {
    const audio = isAudio(upload.fileName) ? await audioInfoOfFile(upload.spoolPath) : null;
    let file: TrackFile | null = null;
    await em.transactional(async (tx) => {
      const modifiedAt = entry.serverModified ? new Date(entry.serverModified) : new Date();
      file = await tx.findOne(TrackFile, { track, dropboxId: entry.id });
      if (!file) {
        file = tx.create(TrackFile, {
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
        tx.persist(file);
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
      const fresh = await tx.findOneOrFail(Upload, { id: upload.id });
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

  private async recordFailure(em: EntityManager, upload: Upload, err: unknown, isLastAttempt: boolean): Promise<void> {
    const permanent = err instanceof DropboxError && !err.retryable;
    const message = uploadRefusalMessage(err, upload.fileName);
    await em.nativeUpdate(
      Upload,
      { id: upload.id },
      permanent || isLastAttempt
        ? { status: 'failed', error: message }
        : { status: 'queued', error: `retrying: ${message}` },
    );
  }

  private parse(
    req: Request,
    spooled: Spooled[],
    problems: Array<{ field: string; message: string }>,
    written: string[],
    skipped: SkippedUpload[],
    budget: RequestBudget,
  ): Promise<void> {
    const maxBytes = this.config.files.maxUploadBytes;
    return new Promise<void>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: req.headers,
          limits: { fileSize: maxBytes, files: MAX_FILES_PER_REQUEST, fields: 50, fieldSize: 1024, parts: 200 },
          defParamCharset: 'utf8',
          // See the name as sent, so a name with a path is refused rather than silently cut to its last part.
          preservePath: true,
        });
      } catch {
        reject(new BadRequestException({ field: 'files', message: 'the upload is not valid multipart/form-data' }));
        return;
      }
      let category: FileCategory | undefined;
      let conflict: UploadConflict = 'rename';
      const writes: Promise<void>[] = [];
      // Over the request total, the producer's quota or the disk's free space: stop reading at once.
      const stop = (err: Error) => {
        req.unpipe(parser);
        void Promise.allSettled(writes).then(() => reject(err));
      };
      parser.on('field', (name, value) => {
        if (name === 'conflict') {
          if ((UPLOAD_CONFLICTS as readonly string[]).includes(value)) conflict = value as UploadConflict;
          else problems.push({ field: 'conflict', message: `conflict must be one of ${UPLOAD_CONFLICTS.join(', ')}` });
          return;
        }
        if (name !== 'category') return;
        if (value === '' || value === 'auto') category = undefined;
        else if ((FILE_CATEGORIES as readonly string[]).includes(value)) category = value as FileCategory;
        else
          problems.push({
            field: 'category',
            message: `category must be one of ${FILE_CATEGORIES.join(', ')} (or auto)`,
          });
      });
      parser.on('file', (_field, stream, info) => {
        const fileName = info.filename ?? '';
        const refusedByDropbox = dropboxNameProblem(fileName);
        if (refusedByDropbox) {
          skipped.push({ id: null, fileName, status: 'skipped', error: refusedByDropbox });
          stream.resume();
          return;
        }
        const problem = fileNameProblem(fileName);
        if (problem) {
          problems.push({ field: 'files', message: `${JSON.stringify(fileName.slice(0, 80))}: ${problem}` });
          stream.resume();
          return;
        }
        const path = join(this.config.files.spoolDir, `${randomUUID()}.part`);
        written.push(path);
        // Over the limit: stop reading at once and answer 413 (the connection then closes), rather than
        // swallowing the rest of a huge body.
        stream.on('limit', () => {
          req.unpipe(parser);
          stream.destroy();
          void Promise.allSettled(writes).then(() =>
            reject(
              new PayloadTooLargeException({
                field: 'files',
                message: `${fileName} is larger than the limit of ${Math.floor(maxBytes / 1024 / 1024)} MB`,
              }),
            ),
          );
        });
        writes.push(
          this.spool(
            stream,
            path,
            fileName,
            category ?? inferCategory(fileName),
            conflict,
            maxBytes,
            spooled,
            problems,
            budget,
            stop,
          ),
        );
      });
      parser.on('filesLimit', () =>
        problems.push({ field: 'files', message: `at most ${MAX_FILES_PER_REQUEST} files per upload` }),
      );
      // On a broken request, wait for the files being written to stop before answering (so cleanup finds them all).
      const fail = (message: string) =>
        Promise.allSettled(writes).then(() => reject(new BadRequestException({ field: 'files', message })));
      parser.on('error', () => void fail('the upload was interrupted or malformed'));
      parser.on('close', () => Promise.all(writes).then(() => resolve(), reject));
      req.on('aborted', () => void fail('the upload was interrupted'));
      req.pipe(parser);
    });
  }

  private async spool(
    stream: NodeJS.ReadableStream & { truncated?: boolean },
    path: string,
    fileName: string,
    category: FileCategory,
    conflict: UploadConflict,
    maxBytes: number,
    spooled: Spooled[],
    problems: Array<{ field: string; message: string }>,
    budget: RequestBudget,
    stop: (err: Error) => void,
  ): Promise<void> {
    const hasher = new DropboxContentHasher();
    let size = 0;
    let limited = false;
    stream.on('limit', () => (limited = true));
    const measure = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        hasher.update(chunk);
        budget.add(chunk.length).then(
          () => done(null, chunk),
          (err: Error) => done(err),
        );
      },
    });
    try {
      await pipeline(stream, measure, createWriteStream(path));
    } catch (err) {
      await rm(path, { force: true });
      if (err instanceof HttpException) stop(err);
      throw err;
    }
    if (limited || stream.truncated) {
      await rm(path, { force: true });
      problems.push({
        field: 'files',
        message: `${fileName} is larger than the limit of ${Math.floor(maxBytes / 1024 / 1024)} MB`,
      });
      return;
    }
    if (size === 0 || (await stat(path)).size === 0) {
      await rm(path, { force: true });
      problems.push({ field: 'files', message: `${fileName} is empty` });
      return;
    }
    spooled.push({ fileName, category, conflict, path, size, contentHash: hasher.digest() });
  }
}
