import { BigIntType, Opt } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { TrackFile } from '../../files/entities/track-file.entity';
import { CollabPipeline } from './collab-pipeline.entity';

export type CollabFileStatus = 'pending' | 'copied' | 'skipped';

/** A file selected for the collaborators' folder; `targetPath` is fixed before the copy so a retry can't duplicate it. */
@Entity({ tableName: 'collab_files' })
@Unique({ properties: ['pipeline', 'sourceId'] })
export class CollabFile {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => CollabPipeline, { deleteRule: 'cascade' })
  pipeline: CollabPipeline;

  @ManyToOne(() => TrackFile, { nullable: true, deleteRule: 'set null' })
  trackFile?: TrackFile | null;

  /** Dropbox id of the file in the producer's track folder. */
  @Property({ type: 'string', length: 64 })
  sourceId: string;

  @Property({ type: 'string', length: 255 })
  name: string;

  @Property({ type: 'string', length: 64, nullable: true })
  contentHash?: string | null;

  @Property({ type: new BigIntType('number') })
  size: number & Opt = 0;

  @Property({ type: 'boolean' })
  isPackage: boolean & Opt = false;

  @Property({ type: 'text' })
  targetPath: string;

  @Enum({ items: ['pending', 'copied', 'skipped'], type: 'string' })
  status: CollabFileStatus & Opt = 'pending';

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  /** Skipped because its category's downloads are off for this share (`error` says so), not because it is missing. */
  @Property({ type: 'boolean' })
  leftOut: boolean & Opt = false;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
