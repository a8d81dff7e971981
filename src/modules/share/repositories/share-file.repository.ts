import { EntityRepository, raw } from '@mikro-orm/postgresql';
import type { ShareFile } from '../entities/share-file.entity';

export class ShareFileRepository extends EntityRepository<ShareFile> {
  /** How many files each share holds. */
  async countsByShare(shareIds: string[]): Promise<Map<string, number>> {
    if (shareIds.length === 0) return new Map();
    const rows = await this.createQueryBuilder('f')
      .select(['f.share as share_id', raw('count(*)::int as n')])
      .where({ share: { $in: shareIds } })
      .groupBy('f.share')
      .execute<Array<{ share_id: string; n: number }>>('all', false);
    return new Map(rows.map((r) => [r.share_id, r.n]));
  }

  /** Each share's files with their track (through the file's foreign key), oldest file first. */
  filesWithTrack(shareIds: string[]): Promise<Array<{ share_id: string; track_id: string; file_id: string }>> {
    if (shareIds.length === 0) return Promise.resolve([]);
    return this.createQueryBuilder('sf')
      .join('sf.file', 'f')
      .select(['sf.share as share_id', 'f.track as track_id', 'f.id as file_id'])
      .where({ share: { $in: shareIds } })
      .orderBy({ file: { createdAt: 'asc', id: 'asc' } })
      .execute<Array<{ share_id: string; track_id: string; file_id: string }>>('all', false);
  }

  /** Puts these files on these shares; those already there stay as they are (one statement). */
  async addMissing(rows: Array<{ share: string; file: string }>): Promise<void> {
    if (rows.length === 0) return;
    await this.createQueryBuilder().insert(rows).onConflict(['share', 'file']).ignore().execute('run');
  }
}
