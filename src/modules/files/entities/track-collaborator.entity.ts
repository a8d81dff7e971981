import { EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import { Collaborator } from './collaborator.entity';
import { TrackCollaboratorRepository } from '../repositories/track-collaborator.repository';
import { Track } from './track.entity';

@Entity({ tableName: 'track_collaborators', repository: () => TrackCollaboratorRepository })
export class TrackCollaborator {
  [EntityRepositoryType]?: TrackCollaboratorRepository;

  @ManyToOne(() => Track, { primary: true, deleteRule: 'cascade' })
  track: Track;

  @ManyToOne(() => Collaborator, { primary: true, deleteRule: 'cascade' })
  collaborator: Collaborator;

  @Property({ type: 'datetime' })
  addedAt: Date & Opt = new Date();
}
