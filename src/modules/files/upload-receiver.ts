import { BadRequestException, HttpException, Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import busboy from 'busboy';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { jobId } from '../../queues/queues';
import { DropboxContentHasher } from '../dropbox/content-hash';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { FILE_CATEGORIES, FileCategory, inferCategory } from './file-categories';
import { UPLOAD_CONFLICTS, UploadConflict } from './entities/upload.entity';
import { dropboxNameProblem, fileNameProblem } from './names';
import { UploadRepository } from './repositories/upload.repository';
import { RequestBudget, SpoolBudget } from './spool-budget';
import { SpoolHosts } from './spool-hosts';
import { TracksService } from './tracks.service';
import { SkippedUpload, toUploadView, UploadView } from './uploads.service';

interface Spooled {
  fileName: string;
  category: FileCategory;
  conflict: UploadConflict;
  path: string;
  size: number;
  contentHash: string;
}

const MAX_FILES_PER_REQUEST = 50;

/**
 * The first half of an upload from the dashboard: the browser streams each file (multipart) to the server, which
 * spools it to disk while hashing it, records an upload row per file and queues its job (UploadJob), which streams
 * it into Dropbox.
 */
@Injectable()
export class UploadReceiver {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly db: DbContext,
    private readonly tracks: TracksService,
    private readonly dropbox: DropboxConnectionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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

    // Files finish spooling in whichever order their writes end: answer (and queue) them in the request's order,
    // which `written` keeps.
    spooled.sort((a, b) => written.indexOf(a.path) - written.indexOf(b.path));
    const uploads = spooled.map((s) =>
      this.uploads.create({
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
    await this.db.flush();
    await this.spoolHosts.enqueue(uploads, (id) => jobId('upload', id));
    return [...uploads.map(toUploadView), ...skipped];
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
