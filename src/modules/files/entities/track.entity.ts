import { Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { User } from '../../accounts/entities/user.entity';
import { SHARING_STATUSES, SharingStatus } from '../file-categories';

@Entity({ tableName: 'tracks' })
@Index({ properties: ['owner', 'createdAt'] })
export class Track {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  owner: User;

  @Property({ type: 'string', length: 200 })
  title: string;

  @Property({ type: 'string', length: 200, nullable: true })
  artist?: string | null;

  @Property({ type: 'smallint', nullable: true })
  bpm?: number | null;

  @Property({ type: 'string', length: 16, nullable: true })
  musicalKey?: string | null;

  @Enum({ items: [...SHARING_STATUSES], type: 'string' })
  sharingStatus: SharingStatus & Opt = 'private';

  /** The track's folder in Dropbox, by id: renames and moves in Dropbox don't lose it. */
  @Property({ type: 'string', length: 64, nullable: true })
  dropboxFolderId?: string | null;

  /** Last known path of that folder (refreshed from listings). */
  @Property({ type: 'text', nullable: true })
  dropboxFolderPath?: string | null;

  /** Bumped when the artwork changes, to bust caches of its URL. */
  @Property({ type: 'integer' })
  artworkVersion: number & Opt = 0;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
