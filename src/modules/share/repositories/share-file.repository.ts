import { EntityRepository, raw } from '@mikro-orm/postgresql';
import type { ShareFile } from '../entities/share-file.entity';

export class ShareFileRepository extends EntityRepository<ShareFile> {
  /** How many files each share holds. */
  async countsByShare(shareIds: string[]): Promise<Map<string, number>> {
    if (shareIds.length === 0) return new Map();
    const rows = await this.createQueryBuilder('f')
      .select(['f.share_id as share_id', raw('count(*)::int as n')])
      .where({ share: { $in: shareIds } })
      .groupBy('f.share_id')
      .execute<Array<{ share_id: string; n: number }>>('all', false);
    return new Map(rows.map((r) => [r.share_id, r.n]));
  }

  /** Each share's files with their track (through the file's foreign key), oldest file first. */
  filesWithTrack(shareIds: string[]): Promise<Array<{ share_id: string; track_id: string; file_id: string }>> {
    if (shareIds.length === 0) return Promise.resolve([]);
    return this.createQueryBuilder('sf')
      .select(['sf.share_id as share_id', 'f.track_id as track_id', 'sf.file_id as file_id'])
      .join('sf.file', 'f')
      .where({ share: { $in: shareIds } })
      .orderBy({ file: { createdAt: 'asc', id: 'asc' } })
      .execute<Array<{ share_id: string; track_id: string; file_id: string }>>('all', false);
  }

  /**
   * Files of followed categories join the shares that follow them on these tracks: one statement, idempotent, so
   * a file that arrives while it runs is added by the next change and never twice.
   */
  async addFollowedFiles(trackIds: string[]): Promise<void> {
    await this.getEntityManager()
      .getConnection()
      .execute(
        `insert into share_files (share_id, file_id)
       select st.share_id, tf.id from share_tracks st
       join track_files tf on tf.track_id = st.track_id and tf.category = any(st.follow)
       where st.track_id in (?)
       on conflict do nothing`,
        [trackIds],
      );
  }
}
