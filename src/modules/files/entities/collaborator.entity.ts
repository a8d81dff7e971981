import { Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { User } from '../../accounts/entities/user.entity';

/** Someone a producer works with; one person can be on many tracks. */
@Entity({ tableName: 'collaborators' })
export class Collaborator {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner: User;

  @Property({ type: 'string', length: 120 })
  name: string;

  /** Lower-cased; without it the person can't get a Dropbox invite. */
  @Property({ type: 'string', length: 320, nullable: true })
  email?: string | null;

  @Property({ type: 'string', length: 60 })
  role: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
