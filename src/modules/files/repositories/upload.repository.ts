import { EntityRepository, raw } from '@mikro-orm/postgresql';
import { Upload } from '../entities/upload.entity';

const PENDING = ['queued', 'uploading'] as const;

/**
 * Uploads on their way into Dropbox. The spool-host sweep runs on a timer, outside any request or job: its reads and
 * writes go through a context of their own.
 */
export class UploadRepository extends EntityRepository<Upload> {
  /** Spool bytes of this producer's uploads that have not reached Dropbox yet. */
  async pendingBytesOf(ownerId: string): Promise<number> {
    const [row] = await this.createQueryBuilder('u')
      .join('u.track', 't')
      .select([raw('coalesce(sum(u.size), 0)::bigint as bytes')])
      .where({ status: { $ne: 'done' }, track: { owner: ownerId } })
      .execute<Array<{ bytes: string }>>('all', false);
    return Number(row?.bytes ?? 0);
  }

  /** The spool hosts that hold uploads not yet sent. */
  async hostsWithPending(): Promise<string[]> {
    const rows: Array<{ spool_host: string }> = await this.em
      .getConnection()
      .execute(
        `select distinct "spool_host" from "uploads" where "spool_host" is not null and "status" in ('queued', 'uploading')`,
      );
    return rows.map((r) => r.spool_host);
  }

  /** Fails the host's uploads still pending (one that finished meanwhile keeps its result); returns how many. */
  failPendingOf(host: string, error: string): Promise<number> {
    return this.em
      .fork()
      .nativeUpdate(Upload, { spoolHost: host, status: { $in: [...PENDING] } }, { status: 'failed', error });
  }
}
