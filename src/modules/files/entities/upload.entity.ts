import { BigIntType, EntityRepositoryType, JsonType, Opt } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import type { UploadCheckpoint } from '../../dropbox/dropbox.types';
import { FILE_CATEGORIES, FileCategory } from '../file-categories';
import { UploadRepository } from '../repositories/upload.repository';
import { Track } from './track.entity';
import { TrackFile } from './track-file.entity';

export type UploadStatus = 'queued' | 'uploading' | 'done' | 'failed';

/** What an upload does when a file of that name is already in its category: keep both, or add a new version. */
export const UPLOAD_CONFLICTS = ['rename', 'replace'] as const;
export type UploadConflict = (typeof UPLOAD_CONFLICTS)[number];

/**
 * A file received from the browser and spooled to disk, on its way into Dropbox. The row is the job's
 * state: the queue only points at it, so a lost Redis or a killed worker loses nothing.
 */
@Entity({ tableName: 'uploads', repository: () => UploadRepository })
export class Upload {
  [EntityRepositoryType]?: UploadRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Track, { deleteRule: 'cascade' })
  track: Track;

  @Enum({ items: [...FILE_CATEGORIES], type: 'string' })
  category: FileCategory;

  @Property({ type: 'string', length: 255 })
  fileName: string;

  @Property({ type: new BigIntType('number') })
  size: number;

  /** content_hash of the spooled bytes, computed while receiving. */
  @Property({ type: 'string', length: 64 })
  contentHash: string;

  @Property({ type: 'text' })
  spoolPath: string;

  /** The host (SPOOL_HOST) whose spool holds the file, which alone can send it; null: a spool every process shares. */
  @Property({ type: 'string', length: 63, nullable: true })
  spoolHost?: string | null;

  @Enum({ items: [...UPLOAD_CONFLICTS], type: 'string' })
  conflict: UploadConflict & Opt = 'rename';

  /** Where in Dropbox the file goes; chosen once so a retry never makes a second copy. */
  @Property({ type: 'text', nullable: true })
  targetPath?: string | null;

  @Enum({ items: ['queued', 'uploading', 'done', 'failed'], type: 'string' })
  status: UploadStatus & Opt = 'queued';

  @Property({ type: new BigIntType('number') })
  bytesUploaded: number & Opt = 0;

  @Property({ type: JsonType, nullable: true })
  checkpoint?: UploadCheckpoint | null;

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  @ManyToOne(() => TrackFile, { nullable: true, deleteRule: 'set null' })
  trackFile?: TrackFile | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
