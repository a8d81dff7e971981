import { EntityRepositoryType } from '@mikro-orm/core';
import { Entity, ManyToOne } from '@mikro-orm/decorators/legacy';
import { ShareFileRepository } from '../repositories/share-file.repository';
import { TrackFile } from '../../files/entities/track-file.entity';
import { Share } from './share.entity';

/** A file a share exposes. The file row (not a copy) is what's served, so the share follows it live. */
@Entity({ tableName: 'share_files', repository: () => ShareFileRepository })
export class ShareFile {
  [EntityRepositoryType]?: ShareFileRepository;

  @ManyToOne(() => Share, { primary: true, deleteRule: 'cascade' })
  share: Share;

  @ManyToOne(() => TrackFile, { primary: true, deleteRule: 'cascade' })
  file: TrackFile;
}
