import { Entity, ManyToOne, Opt, Property } from '@mikro-orm/core';
import { Collaborator } from './collaborator.entity';
import { Track } from './track.entity';

@Entity({ tableName: 'track_collaborators' })
export class TrackCollaborator {
  @ManyToOne(() => Track, { primary: true, deleteRule: 'cascade' })
  track: Track;

  @ManyToOne(() => Collaborator, { primary: true, deleteRule: 'cascade' })
  collaborator: Collaborator;

  @Property({ type: 'datetime' })
  addedAt: Date & Opt = new Date();
}
