import { HttpException, HttpStatus, Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { UploadRepository } from './repositories/upload.repository';

const MB = 1024 * 1024;
/** How often (bytes received) the free space of the spool's disk is looked at again during an upload. */
const DISK_CHECK_EVERY = 64 * MB;

export class InsufficientStorageException extends HttpException {
  constructor(message: string) {
    super({ field: 'files', message }, HttpStatus.INSUFFICIENT_STORAGE);
  }
}

const mb = (bytes: number) => `${Math.floor(bytes / MB)} MB`;

/** What one upload request may still write to the spool; `add` is called with every chunk's size. */
export interface RequestBudget {
  /** Throws the refusal once this request went over a limit; resolves when the chunk may be written. */
  add(bytes: number): Promise<void>;
}

/**
 * The spool is one disk shared by every producer. Besides the per-file limit: a total per request, a quota per
 * producer (their uploads not yet in Dropbox), and free space kept on the disk — checked before the body is read
 * (from Content-Length) and again while it streams in, so a chunked body can't fill the disk either.
 */
@Injectable()
export class SpoolBudget {
  constructor(
    private readonly uploads: UploadRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Spool bytes of this producer's uploads that have not reached Dropbox yet. */
  used(ownerId: string): Promise<number> {
    return this.uploads.pendingBytesOf(ownerId);
  }

  async freeBytes(): Promise<number> {
    const stats = await statfs(this.config.files.spoolDir);
    return Number(stats.bavail) * Number(stats.bsize);
  }

  /** Refuses at once what the declared length already shows won't fit; returns the running check for the rest. */
  async open(ownerId: string, declaredLength: number | null): Promise<RequestBudget> {
    const { maxRequestBytes, spoolQuotaBytes, minFreeBytes } = this.config.files;
    const quotaLeft = spoolQuotaBytes - (await this.used(ownerId));
    const tooMuchForQuota = () =>
      new InsufficientStorageException(
        `your uploads waiting to reach Dropbox would take more than your spool quota of ${mb(spoolQuotaBytes)}: wait for them to finish, then upload the rest`,
      );
    const diskFull = () =>
      new InsufficientStorageException(
        'the server is short of disk space for uploads right now: please try again later',
      );
    const tooLarge = () =>
      new PayloadTooLargeException({
        field: 'files',
        message: `one upload may carry at most ${mb(maxRequestBytes)} in all`,
      });
    const checkDisk = async (incoming: number) => {
      if ((await this.freeBytes()) - incoming < minFreeBytes) throw diskFull();
    };

    if (quotaLeft <= 0) throw tooMuchForQuota();
    if (declaredLength !== null) {
      // Content-Length counts multipart framing too, a few hundred bytes per file: compare with room for it.
      const slack = 64 * 1024;
      if (declaredLength > maxRequestBytes + slack) throw tooLarge();
      if (declaredLength > quotaLeft + slack) throw tooMuchForQuota();
    }
    await checkDisk(declaredLength ?? 0);

    let received = 0;
    let nextDiskCheck = DISK_CHECK_EVERY;
    return {
      add: async (bytes: number) => {
        received += bytes;
        if (received > maxRequestBytes) throw tooLarge();
        if (received > quotaLeft) throw tooMuchForQuota();
        if (received >= nextDiskCheck) {
          nextDiskCheck = received + DISK_CHECK_EVERY;
          await checkDisk(0);
        }
      },
    };
  }
}
