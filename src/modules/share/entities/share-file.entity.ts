import { Entity, ManyToOne } from '@mikro-orm/core';
import { TrackFile } from '../../files/entities/track-file.entity';
import type { Share } from './share.entity';

/** A file a share exposes. The file row (not a copy) is what's served, so the share follows it live. */
@Entity({ tableName: 'share_files' })
export class ShareFile {
  @ManyToOne('Share', { primary: true, deleteRule: 'cascade' })
  share: Share;

  @ManyToOne(() => TrackFile, { primary: true, deleteRule: 'cascade' })
  file: TrackFile;
}
