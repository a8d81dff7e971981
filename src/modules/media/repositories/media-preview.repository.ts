import { FilterQuery } from '@mikro-orm/core';
import { EntityRepository } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { MediaPreview } from '../entities/media-preview.entity';

/**
 * Previews are built by jobs while pages and the play route read them, so what those read is read in a fresh
 * identity map (the rows as the database has them now); the job works in its own context through the inherited
 * methods.
 */
export class MediaPreviewRepository extends EntityRepository<MediaPreview> {
  /** A pending row for each file revision that has none; a revision with a row keeps it as it is. */
  async insertPending(revisions: { file: string; revision: string }[]): Promise<void> {
    if (revisions.length === 0) return;
    await this.em
      .fork()
      .createQueryBuilder(this.entityName)
      .insert(revisions.map(({ file, revision }) => ({ id: randomUUID(), file, revision, status: 'pending' as const })))
      .onConflict(['file', 'revision'])
      .ignore()
      .execute();
  }

  /** The rows of these files, every revision's, as they are now. */
  ofFiles(fileIds: string[]): Promise<MediaPreview[]> {
    return this.em.fork().find(this.entityName, { file: { $in: fileIds } });
  }

  /** One row as it is now, or null. */
  findFresh(where: FilterQuery<MediaPreview>): Promise<MediaPreview | null> {
    return this.em.fork().findOne(this.entityName, where);
  }

  /**
   * Puts a built preview back to pending for its rebuild, unless another process did first (it counts the rebuilds,
   * so one claim wins); true when this call did.
   */
  async claimRebuild(row: MediaPreview): Promise<boolean> {
    const claimed = await this.em
      .fork()
      .nativeUpdate(
        this.entityName,
        { id: row.id, rebuilds: row.rebuilds },
        { status: 'pending', dropboxId: null, dropboxRev: null, rebuilds: row.rebuilds + 1 },
      );
    return claimed > 0;
  }
}
