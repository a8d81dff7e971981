import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { DbContext } from '../../database/db-context';
import { jobId } from '../../queues/queues';
import { FileCategory } from './file-categories';
import { Upload, UploadConflict, UploadStatus } from './entities/upload.entity';
import { UploadRepository } from './repositories/upload.repository';
import { SPOOL_HOST_GONE_MESSAGE, SpoolHosts } from './spool-hosts';
import { TracksService } from './tracks.service';

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

/**
 * What the producer does with a track's uploads once they are received (UploadReceiver) and while their job
 * (UploadJob) sends them into Dropbox: see them, retry a failed one, give one up.
 */
@Injectable()
export class UploadsService {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly db: DbContext,
    private readonly tracks: TracksService,
    private readonly spoolHosts: SpoolHosts,
  ) {}

  async list(ownerId: string, trackId: string): Promise<UploadView[]> {
    const track = await this.tracks.owned(ownerId, trackId);
    const since = new Date(Date.now() - 24 * 3600_000);
    // A failed upload stays listed however old it is: its file waits on the server until it is retried or discarded.
    const uploads = await this.uploads.find(
      { track, $or: [{ createdAt: { $gte: since } }, { status: 'failed' }] },
      { orderBy: { createdAt: 'desc' }, limit: 200 },
    );
    return uploads.map(toUploadView);
  }

  async get(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.uploads.findOne({ id: uploadId, track: { owner: ownerId } });
    if (!upload) throw new NotFoundException('upload not found');
    return toUploadView(upload);
  }

  /** Retries a failed upload from where it stopped. */
  async retry(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.uploads.findOne({ id: uploadId, track: { owner: ownerId } });
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
    await this.db.flush();
    // A new job id: the failed job keeps its history in the dashboard.
    const retryId = Date.now();
    await this.spoolHosts.enqueue([upload], (id) => jobId('upload', id, retryId));
    return toUploadView(upload);
  }

  /** Gives up on a failed upload: its spooled file is deleted and the row forgotten. */
  async discard(ownerId: string, uploadId: string): Promise<UploadView> {
    const upload = await this.uploads.findOne({ id: uploadId, track: { owner: ownerId } });
    if (!upload) throw new NotFoundException('upload not found');
    if (upload.status !== 'failed')
      throw new BadRequestException({ field: 'id', message: 'only a failed upload can be discarded' });
    const view = toUploadView(upload);
    this.db.remove(upload);
    await this.db.flush();
    await rm(upload.spoolPath, { force: true });
    return view;
  }
}
