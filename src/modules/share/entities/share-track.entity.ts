import { ArrayType, Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, Property } from '@mikro-orm/decorators/legacy';
import type { FileCategory } from '../../files/file-categories';
import { Track } from '../../files/entities/track.entity';
import { Share } from './share.entity';

/** A track of a share, in the owner's order. */
@Entity({ tableName: 'share_tracks' })
export class ShareTrack {
  @ManyToOne(() => Share, { primary: true, deleteRule: 'cascade' })
  share: Share;

  @ManyToOne(() => Track, { primary: true, deleteRule: 'cascade' })
  track: Track;

  @Property({ type: 'smallint' })
  position: number;

  /** Categories whose every file, now and later, is on the link (kept in share_files as files arrive). */
  @Property({ type: ArrayType, columnType: 'text[]' })
  follow: FileCategory[] & Opt = [];
}
