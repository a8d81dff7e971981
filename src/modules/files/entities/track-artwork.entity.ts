import { Opt } from '@mikro-orm/core';
import { Entity, OneToOne, Property } from '@mikro-orm/decorators/legacy';
import { Track } from './track.entity';

/** Re-encoded artwork, kept in PostgreSQL so share pages show it without calling Dropbox. */
@Entity({ tableName: 'track_artwork' })
export class TrackArtwork {
  @OneToOne(() => Track, { primary: true, owner: true, deleteRule: 'cascade' })
  track: Track;

  /** 1200 px square-bounded JPEG. */
  @Property({ type: 'blob', lazy: true })
  large: Buffer;

  /** 300 px, for lists and previews. */
  @Property({ type: 'blob', lazy: true })
  small: Buffer;

  @Property({ type: 'datetime' })
  updatedAt: Date & Opt = new Date();
}
