import { Opt } from '@mikro-orm/core';
import { Entity, Enum, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { Collaborator } from '../../files/entities/collaborator.entity';
import { CollabPipeline } from './collab-pipeline.entity';

/**
 * queued: to invite · invited: invite pending in Dropbox · joined: has access · no_email: can't be invited ·
 * failed: Dropbox refused (see `error`) · removed: taken out of the folder when the share's access ended (Extend
 * invites them again) · gone: the invitation left Dropbox's pending list without this address joining (accepted under
 * another address — `acceptedAs` — or declined); only re-sent when the producer asks. Removing someone's access by
 * hand deletes their row.
 */
export const MEMBER_STATES = ['queued', 'invited', 'joined', 'no_email', 'failed', 'removed', 'gone'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** A collaborator of the track as the shared folder knows them. */
@Entity({ tableName: 'collab_members' })
@Unique({ properties: ['pipeline', 'collaborator'] })
export class CollabMember {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => CollabPipeline, { deleteRule: 'cascade' })
  pipeline: CollabPipeline;

  @ManyToOne(() => Collaborator, { deleteRule: 'cascade' })
  collaborator: Collaborator;

  @Property({ type: 'string', length: 120 })
  name: string;

  /** Lower-cased, as invited. */
  @Property({ type: 'string', length: 320, nullable: true })
  email?: string | null;

  @Enum({ items: [...MEMBER_STATES], type: 'string' })
  state: MemberState & Opt = 'queued';

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  /** The address a `gone` invitation was accepted under, when the folder's members tell. */
  @Property({ type: 'string', length: 320, nullable: true })
  acceptedAs?: string | null;

  @Property({ type: 'datetime' })
  updatedAt: Date & Opt = new Date();
}
