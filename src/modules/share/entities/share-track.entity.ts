import { Entity, ManyToOne, Property } from '@mikro-orm/core';
import { Track } from '../../files/entities/track.entity';
import type { Share } from './share.entity';

/** A track of a share, in the owner's order. */
@Entity({ tableName: 'share_tracks' })
export class ShareTrack {
  @ManyToOne('Share', { primary: true, deleteRule: 'cascade' })
  share: Share;

  @ManyToOne(() => Track, { primary: true, deleteRule: 'cascade' })
  track: Track;

  @Property({ type: 'smallint' })
  position: number;
}
