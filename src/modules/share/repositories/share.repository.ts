import { EntityRepository, ForeignKeyConstraintViolationException } from '@mikro-orm/postgresql';
import type { Share } from '../entities/share.entity';
import type { ShareCounts } from '../share-stats.service';
import { counterUpdate } from './counters';

/** One flush's worth of a share × recipient × file's listening counters. */
export interface ListenCounts {
  shareId: string;
  recipientId: string | null;
  fileId: string;
  sessions: number;
  plays: number;
  listenedSeconds: number;
  shareSum: number;
  /** Sessions that stopped in each tenth of the file (a change: may be negative). */
  stops: number[];
}

export interface ListenTotalsRow {
  key: string | null;
  sessions: string;
  plays: string;
  listened_seconds: number;
  share_sum: number;
  stops: Array<string | number>;
}

type TokenHashes = Array<{ token_hash: string }>;

/**
 * The share module's queries over shares and what hangs off them: counters, the token hashes of a share's links
 * (its own and its recipients'), the expiry sweep, and the listening statistics (share_listens has no entity: it
 * is written and summed in SQL only).
 */
export class ShareRepository extends EntityRepository<Share> {
  /** Adds pending counts to the share's counters; returns its owner, title and new view count (none: gone). */
  async addCounters(
    shareId: string,
    c: ShareCounts,
  ): Promise<{ owner: string; title: string; views: number | string } | undefined> {
    const rows = (await this.createQueryBuilder()
      .update(counterUpdate(c))
      .where({ id: shareId })
      .returning(['owner', 'title', 'views'])
      .execute('all')) as Array<{ owner: string; title: string; views: number | string }>;
    return rows[0];
  }

  /** The token hashes of every link of the share: its own and each recipient's. */
  async linkHashesOfShare(shareId: string): Promise<string[]> {
    return this.hashes(
      `select token_hash from shares where id = ? union all select token_hash from share_recipients where share_id = ?`,
      [shareId, shareId],
    );
  }

  /** The token hashes of every link of the owner's shares. */
  async linkHashesOfOwner(ownerId: string): Promise<string[]> {
    return this.hashes(
      `select token_hash from shares where owner_id = ?
       union all select r.token_hash from share_recipients r join shares s on s.id = r.share_id where s.owner_id = ?`,
      [ownerId, ownerId],
    );
  }

  /** The token hashes of every link of the shares holding one of these tracks. */
  async linkHashesShowingTracks(trackIds: string[]): Promise<string[]> {
    return this.hashes(
      `select s.token_hash from shares s join share_tracks st on st.share_id = s.id where st.track_id in (?)
       union
       select r.token_hash from share_recipients r join share_tracks st on st.share_id = r.share_id where st.track_id in (?)`,
      [trackIds, trackIds],
    );
  }

  private async hashes(sql: string, params: unknown[]): Promise<string[]> {
    const rows = await this.getEntityManager().getConnection().execute<TokenHashes>(sql, params);
    return rows.map((r) => r.token_hash);
  }

  /**
   * Open links expiring in (`from`, `until`] and not yet told for that expiry, but those of `skipOwners`: marked
   * told in the statement that finds them, so two sweeps at once claim each once.
   */
  async claimExpiryWarnings(
    from: Date,
    until: Date,
    skipOwners: string[],
  ): Promise<Array<{ id: string; owner_id: string; title: string; expires_at: Date | string }>> {
    return (await this.getEntityManager()
      .getConnection()
      .execute(
        `update "shares" s set "expiry_warned_for" = s."expires_at"
        where s."revoked_at" is null and not (s."owner_id" = any(?::uuid[]))
          and s."expires_at" > ? and s."expires_at" <= ?
          and s."expiry_warned_for" is distinct from s."expires_at"
        returning s."id", s."owner_id", s."title", s."expires_at"`,
        [`{${skipOwners.join(',')}}`, from, until],
      )) as Array<{ id: string; owner_id: string; title: string; expires_at: Date | string }>;
  }

  /**
   * One upsert per share × recipient × file: its sessions, plays, seconds, shares heard and where sessions stop.
   * Nothing is written for a share, recipient or file deleted since the counts were taken (the file's foreign key
   * refuses the row).
   */
  async addListen(l: ListenCounts): Promise<void> {
    const stopsSum = l.stops.map((_, i) => `l.stops[${i + 1}] + excluded.stops[${i + 1}]`).join(', ');
    try {
      await this.getEntityManager().execute(
        `insert into share_listens as l (share_id, recipient_id, file_id, sessions, plays, listened_seconds, share_sum, stops)
       select ?, ?, ?, ?, ?, ?, ?, ?::bigint[]
       where exists (select 1 from shares where id = ?)
         and (?::uuid is null or exists (select 1 from share_recipients where id = ?))
       on conflict (share_id, file_id, (coalesce(recipient_id, '00000000-0000-0000-0000-000000000000'::uuid))) do update set
         sessions = l.sessions + excluded.sessions,
         plays = l.plays + excluded.plays,
         listened_seconds = l.listened_seconds + excluded.listened_seconds,
         share_sum = l.share_sum + excluded.share_sum,
         stops = array[${stopsSum}]`,
        [
          l.shareId,
          l.recipientId,
          l.fileId,
          l.sessions,
          l.plays,
          l.listenedSeconds,
          l.shareSum,
          `{${l.stops.join(',')}}`,
          l.shareId,
          l.recipientId,
          l.recipientId,
        ],
        'run',
      );
    } catch (err) {
      if (!(err instanceof ForeignKeyConstraintViolationException)) throw err;
    }
  }

  /** The share's listening statistics summed per file or per link (recipient; null: the share's own link). */
  listenTotals(shareId: string, by: 'file_id' | 'recipient_id'): Promise<ListenTotalsRow[]> {
    return this.getEntityManager()
      .getConnection()
      .execute<ListenTotalsRow[]>(
        `select ${by} as key, sum(sessions)::bigint as sessions, sum(plays)::bigint as plays, sum(listened_seconds) as listened_seconds,
              sum(share_sum) as share_sum,
              array[${Array.from({ length: 10 }, (_, i) => `sum(stops[${i + 1}])::bigint`).join(', ')}] as stops
         from share_listens where share_id = ? group by ${by}`,
        [shareId],
      );
  }
}
