import { EntityRepository, raw } from '@mikro-orm/postgresql';
import type { FileCategory } from '../file-categories';
import { TrackFile } from '../entities/track-file.entity';

export interface FileRevisionFacts {
  rev: string;
  size: number;
  contentHash: string | null;
}

/**
 * The library's files. What another part of the product learns about a file while serving it (a share link streaming
 * it) is written through a fresh context of its own: the caller's identity map may hold an older row, and the stream
 * that learned it may have outlived its request.
 */
export class TrackFileRepository extends EntityRepository<TrackFile> {
  /** How many files each track has per category (a category with none has no row). */
  countsByCategory(trackIds: string[]): Promise<Array<{ track_id: string; category: FileCategory; n: number }>> {
    return this.createQueryBuilder('f')
      .select(['f.track as track_id', 'f.category as category', raw('count(*)::int as n')])
      .where({ track: { $in: trackIds } })
      .groupBy(['f.track', 'f.category'])
      .execute<Array<{ track_id: string; category: FileCategory; n: number }>>('all', false);
  }

  /** Records the file's current revision (it is there again); returns what the caller needs of it, or null when gone. */
  async recordRevision(id: string, live: FileRevisionFacts): Promise<Pick<TrackFile, 'name' | 'isPackage'> | null> {
    const em = this.em.fork();
    await em.nativeUpdate(
      TrackFile,
      { id },
      { rev: live.rev, size: live.size, contentHash: live.contentHash, status: 'ready' },
    );
    return em.findOne(TrackFile, { id }, { fields: ['name', 'isPackage'] });
  }

  async setUnservable(id: string, reason: string | null): Promise<void> {
    await this.em.fork().nativeUpdate(TrackFile, { id }, { unservable: reason });
  }

  async markMissing(id: string): Promise<void> {
    await this.em.fork().nativeUpdate(TrackFile, { id, status: { $ne: 'missing' } }, { status: 'missing' });
  }
}
