import { BigIntType, BlobType, EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { TrackFile } from '../../files/entities/track-file.entity';
import { MediaPreviewRepository } from '../repositories/media-preview.repository';

export const PREVIEW_STATUSES = ['pending', 'ready', 'failed'] as const;
export type PreviewStatus = (typeof PREVIEW_STATUSES)[number];

/**
 * The preview of one revision of an audio file: a lossy rendition kept in the producer's Dropbox, the waveform's
 * peaks and the loudness. A new revision of the file gets a row of its own; the old one goes once the new is built.
 */
@Entity({ tableName: 'media_previews', repository: () => MediaPreviewRepository })
@Unique({ properties: ['file', 'revision'] })
@Index({ properties: ['status', 'updatedAt'] })
export class MediaPreview {
  [EntityRepositoryType]?: MediaPreviewRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TrackFile, { deleteRule: 'cascade' })
  file: TrackFile;

  /** Dropbox's content hash of the source (its rev where no hash is known). */
  @Property({ type: 'string', length: 64 })
  revision: string;

  @Enum({ items: [...PREVIEW_STATUSES], type: 'string' })
  status: PreviewStatus & Opt = 'pending';

  /** Failed: ffmpeg's reason in words. Pending: why it waits, when it does (for example no ffmpeg). */
  @Property({ type: 'text', nullable: true })
  reason?: string | null;

  /** The rendition in Dropbox. */
  @Property({ type: 'string', length: 64, nullable: true })
  dropboxId?: string | null;

  @Property({ type: 'text', nullable: true })
  dropboxPath?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  dropboxRev?: string | null;

  @Property({ type: new BigIntType('number'), nullable: true })
  size?: number | null;

  @Property({ type: 'double', nullable: true })
  durationSeconds?: number | null;

  /** Interleaved min/max pairs as signed bytes (see peaks.ts). */
  @Property({ type: BlobType, nullable: true, lazy: false })
  peaks?: Buffer | null;

  @Property({ type: 'double', nullable: true })
  loudnessLufs?: number | null;

  @Property({ type: 'double', nullable: true })
  truePeakDb?: number | null;

  /** How long the last build took, for the admin and the bench. */
  @Property({ type: 'integer', nullable: true })
  buildMs?: number | null;

  /** Times the rendition went missing in Dropbox and was asked for again. */
  @Property({ type: 'integer' })
  rebuilds: number & Opt = 0;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
