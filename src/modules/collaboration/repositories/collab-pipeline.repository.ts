import { EntityRepository, LockMode } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { CollabPipeline } from '../entities/collab-pipeline.entity';

/** The pipeline rows: the locks every change holds, and the sweeps' queries. */
export class CollabPipelineRepository extends EntityRepository<CollabPipeline> {
  /**
   * The track's pipeline row, locked until the transaction ends; with `create`, the row is made first when there is
   * none (two first clicks at once create one row: the unique track id decides).
   */
  async lockedForTrack(trackId: string, create: true): Promise<CollabPipeline>;
  async lockedForTrack(trackId: string, create: false): Promise<CollabPipeline | null>;
  async lockedForTrack(trackId: string, create: boolean): Promise<CollabPipeline | null> {
    if (create) {
      await this.em.execute(
        'insert into collab_pipelines (id, track_id) values (?, ?) on conflict (track_id) do nothing',
        [randomUUID(), trackId],
      );
    }
    return this.findOne({ track: trackId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** The pipeline row, locked until the transaction ends (the fence of a job's writes). */
  lockedById(id: string): Promise<CollabPipeline | null> {
    return this.findOne({ id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /** Running pipelines whose last progress is older than `quietSince` (their jobs may have gone missing). */
  quietRunning(quietSince: Date, limit: number): Promise<CollabPipeline[]> {
    return this.find({ status: 'running', progressAt: { $lt: quietSince } }, { limit });
  }

  /**
   * Shared pipelines, neither running nor losing their access, whose members were last read from Dropbox before
   * `dueBefore` (or never), oldest first, with their track (its owner's Dropbox is asked).
   */
  dueForMemberRefresh(dueBefore: Date, limit: number) {
    return this.find(
      {
        sharedFolderId: { $ne: null },
        accessEndingAt: null,
        accessEndedAt: null,
        status: { $in: ['done', 'failed'] },
        $or: [{ membersRefreshedAt: null }, { membersRefreshedAt: { $lt: dueBefore } }],
      },
      { orderBy: { membersRefreshedAt: 'asc' }, limit, populate: ['track'] },
    );
  }

  /** Started shares whose end has come and whose access has not ended yet, soonest first. */
  dueToEnd(now: Date, limit: number): Promise<CollabPipeline[]> {
    return this.find(
      { expiresAt: { $lte: now }, accessEndedAt: null, status: { $ne: 'not_shared' } },
      { orderBy: { expiresAt: 'asc' }, limit },
    );
  }
}
