import { BigIntType, EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { FILE_CATEGORIES, FileCategory } from '../file-categories';
import { TrackFileRepository } from '../repositories/track-file.repository';
import { Track } from './track.entity';

export type TrackFileStatus = 'ready' | 'missing';

/** A file of a track's library, imported: it lives in Dropbox, this row knows where and what it is. */
@Entity({ tableName: 'track_files', repository: () => TrackFileRepository })
@Unique({ properties: ['track', 'dropboxId'] })
export class TrackFile {
  [EntityRepositoryType]?: TrackFileRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Track, { deleteRule: 'cascade' })
  track: Track;

  @Enum({ items: [...FILE_CATEGORIES], type: 'string' })
  category: FileCategory;

  @Property({ type: 'string', length: 255 })
  name: string;

  @Property({ type: 'string', length: 64 })
  dropboxId: string;

  @Property({ type: 'text' })
  dropboxPath: string;

  @Property({ type: 'string', length: 64, nullable: true })
  rev?: string | null;

  @Property({ type: new BigIntType('number') })
  size: number & Opt = 0;

  @Property({ type: 'string', length: 64, nullable: true })
  contentHash?: string | null;

  /** A folder bundle (Logic `.logicx`) shown and shared as one item. */
  @Property({ type: 'boolean' })
  isPackage: boolean & Opt = false;

  @Property({ type: 'boolean' })
  isMaster: boolean & Opt = false;

  @Enum({ items: ['ready', 'missing'], type: 'string' })
  status: TrackFileStatus & Opt = 'ready';

  /**
   * Why Dropbox won't serve the file though it lists it (`unsupported_file` for cloud documents,
   * `restricted_content`, `not_allowed`); null when it serves it.
   */
  @Property({ type: 'string', length: 32, nullable: true })
  unservable?: string | null;

  @Property({ type: 'double', nullable: true })
  durationSeconds?: number | null;

  @Property({ type: 'integer', nullable: true })
  sampleRate?: number | null;

  @Property({ type: 'smallint', nullable: true })
  bitsPerSample?: number | null;

  @Property({ type: 'smallint', nullable: true })
  channels?: number | null;

  @Property({ type: 'string', length: 64, nullable: true })
  codec?: string | null;

  @Property({ type: 'integer', nullable: true })
  bitrate?: number | null;

  /** When the current revision was written in Dropbox (its server_modified); null until first seen. */
  @Property({ type: 'datetime', nullable: true })
  modifiedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
