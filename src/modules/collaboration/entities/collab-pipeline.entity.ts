import { EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, Enum, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { Track } from '../../files/entities/track.entity';
import { CollabPipelineRepository } from '../repositories/collab-pipeline.repository';

export const PIPELINE_STATUSES = ['not_shared', 'running', 'done', 'failed'] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];

/** The steps in order; `done` once all three have nothing left to do. */
export const PIPELINE_STEPS = ['folder', 'files', 'invites'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export type AccessLevel = 'editor' | 'viewer';

/** How long collaborators keep the folder, as for share links. */
export const COLLAB_EXPIRY_CHOICES = ['7d', '30d', '90d', 'never'] as const;
export type CollabExpiry = (typeof COLLAB_EXPIRY_CHOICES)[number];

/**
 * A track's "share with collaborators" pipeline: one row per track, the single source of truth for its state.
 * Queue jobs only point here (pipeline id, generation, run). `generation` changes on reset: every write of a
 * job is fenced by it, so a job of an earlier generation can never touch the fresh state. `run` changes each time
 * the producer starts, extends or retries, and names that run's jobs.
 */
@Entity({ tableName: 'collab_pipelines', repository: () => CollabPipelineRepository })
export class CollabPipeline {
  [EntityRepositoryType]?: CollabPipelineRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne(() => Track, { owner: true, deleteRule: 'cascade', unique: true })
  track: Track;

  @Property({ type: 'integer' })
  generation: number & Opt = 1;

  @Property({ type: 'integer' })
  run: number & Opt = 0;

  @Enum({ items: [...PIPELINE_STATUSES], type: 'string' })
  status: PipelineStatus & Opt = 'not_shared';

  /** The step running now, or the one that failed. */
  @Enum({ items: [...PIPELINE_STEPS], type: 'string', nullable: true })
  step?: PipelineStep | null;

  @Enum({ items: ['editor', 'viewer'], type: 'string' })
  accessLevel: AccessLevel & Opt = 'editor';

  /** Chosen once per generation, before the first Dropbox call, so a retry shares the same path. */
  @Property({ type: 'text', nullable: true })
  folderPath?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  sharedFolderId?: string | null;

  @Property({ type: 'text', nullable: true })
  folderUrl?: string | null;

  /** A batch copy Dropbox is still running: a resumed step polls it instead of copying again. */
  @Property({ type: 'string', length: 128, nullable: true })
  copyJobId?: string | null;

  /** A copy was attempted before: the next attempt first lists the folder to skip what already arrived. */
  @Property({ type: 'boolean' })
  copyAttempted: boolean & Opt = false;

  /** The share's settings, chosen at its first start; retry and "share with remaining" keep them, reset clears them. */
  @Enum({ items: [...COLLAB_EXPIRY_CHOICES], type: 'string' })
  expiry: CollabExpiry & Opt = 'never';

  /** When the invited collaborators are removed from the folder; NULL = never. */
  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  /** Changes with every new end (extend, end now): names the expiry job, so a job for an older end does nothing. */
  @Property({ type: 'integer' })
  expiryVersion: number & Opt = 0;

  /** The expiry job started removing people (extending waits until it is done). */
  @Property({ type: 'datetime', nullable: true })
  accessEndingAt?: Date | null;

  /** Every invited collaborator was removed from the folder. */
  @Property({ type: 'datetime', nullable: true })
  accessEndedAt?: Date | null;

  /** Why ending access failed for good, in plain words. */
  @Property({ type: 'text', nullable: true })
  expiryError?: string | null;

  @Property({ type: 'boolean' })
  downloadBounce: boolean & Opt = true;

  @Property({ type: 'boolean' })
  downloadProject: boolean & Opt = true;

  @Property({ type: 'boolean' })
  downloadStem: boolean & Opt = true;

  /**
   * Folder members can download everything in the folder, so files of a category whose downloads are off are left
   * out, unless the producer chose to put them in anyway.
   */
  @Property({ type: 'boolean' })
  includeDisabled: boolean & Opt = false;

  /** "Share with remaining" arrived while a run was going: another run follows when this one ends. */
  @Property({ type: 'boolean' })
  rerunRequested: boolean & Opt = false;

  @Property({ type: 'string', length: 64, nullable: true })
  errorCode?: string | null;

  /** Why it failed, in plain words for the producer. */
  @Property({ type: 'text', nullable: true })
  errorMessage?: string | null;

  /** The last time a step moved (stuck detection). */
  @Property({ type: 'datetime', nullable: true })
  progressAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  membersRefreshedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  startedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  finishedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
