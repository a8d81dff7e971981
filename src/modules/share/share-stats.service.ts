import { EntityManager, raw } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../../common/redis/redis.module';
import type { FileCategory } from '../files/file-categories';
import { Share } from './entities/share.entity';

export type ShareEvent = 'view' | 'play' | `download:${FileCategory}`;

export interface ShareCounts {
  views: number;
  plays: number;
  downloads: Record<FileCategory, number>;
  lastAccessedAt: Date | null;
}

const FIELDS: Record<ShareEvent, string> = {
  view: 'views',
  play: 'plays',
  'download:bounce': 'dl_bounce',
  'download:project': 'dl_project',
  'download:stem': 'dl_stem',
};
const FLUSH_BATCH = 500;

/**
 * Views, plays and downloads without a database write per request: each event is one Redis round trip
 * (HINCRBY into the share's hash, and the share marked dirty); a scheduled job adds the hashes to PostgreSQL in
 * batches. Redis holds at most one flush interval of counts; the management page adds them to what PostgreSQL has,
 * so the owner sees every event at once.
 */
@Injectable()
export class ShareStatsService {
  private readonly logger = new Logger(ShareStatsService.name);

  constructor(
    private readonly redis: RedisService,
    private readonly em: EntityManager,
  ) {}

  private key(shareId: string): string {
    return this.redis.key('share', 'stats', shareId);
  }

  private get dirtyKey(): string {
    return this.redis.key('share', 'stats-dirty');
  }

  async record(shareId: string, event: ShareEvent, count = 1, at = new Date()): Promise<void> {
    if (count <= 0) return;
    try {
      await this.redis.client
        .multi()
        .hincrby(this.key(shareId), FIELDS[event], count)
        .hset(this.key(shareId), 'last', String(at.getTime()))
        .sadd(this.dirtyKey, shareId)
        .exec();
    } catch (err) {
      // Counting must never break a recipient's page or download.
      this.logger.warn({ shareId, event, error: (err as Error).message }, 'could not count a share event');
    }
  }

  /** Counts recorded but not yet flushed, per share. */
  async pending(shareIds: string[]): Promise<Map<string, ShareCounts>> {
    const result = new Map<string, ShareCounts>();
    if (shareIds.length === 0) return result;
    const pipeline = this.redis.client.pipeline();
    for (const id of shareIds) pipeline.hgetall(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    shareIds.forEach((id, i) => result.set(id, toCounts((replies[i]?.[1] as Record<string, string>) ?? {})));
    return result;
  }

  /** Moves pending counts into PostgreSQL. Safe to run concurrently: each hash is read and deleted atomically. */
  async flush(): Promise<number> {
    let flushed = 0;
    for (;;) {
      const ids = await this.redis.client.spop(this.dirtyKey, FLUSH_BATCH);
      if (!ids || ids.length === 0) return flushed;
      for (const id of ids) {
        const [[, hash]] = ((await this.redis.client.multi().hgetall(this.key(id)).del(this.key(id)).exec()) ?? [[null, {}]]) as [
          [unknown, Record<string, string>],
        ];
        const counts = toCounts(hash ?? {});
        if (!hasAny(counts)) continue;
        try {
          await this.add(id, counts);
          flushed += 1;
        } catch (err) {
          // Put them back for the next run rather than lose them.
          await this.restore(id, hash ?? {});
          throw err;
        }
      }
    }
  }

  private async add(shareId: string, c: ShareCounts): Promise<void> {
    const last = c.lastAccessedAt;
    await this.em
      .fork()
      .createQueryBuilder(Share)
      .update({
        views: raw(`views + ${c.views}`),
        plays: raw(`plays + ${c.plays}`),
        downloadsBounce: raw(`downloads_bounce + ${c.downloads.bounce}`),
        downloadsProject: raw(`downloads_project + ${c.downloads.project}`),
        downloadsStem: raw(`downloads_stem + ${c.downloads.stem}`),
        ...(last ? { lastAccessedAt: raw(`greatest(coalesce(last_accessed_at, to_timestamp(0)), to_timestamp(${last.getTime() / 1000}))`) } : {}),
      })
      .where({ id: shareId })
      .execute();
  }

  private async restore(shareId: string, hash: Record<string, string>): Promise<void> {
    const pipeline = this.redis.client.multi();
    for (const [field, value] of Object.entries(hash)) {
      if (field === 'last') pipeline.hset(this.key(shareId), field, value);
      else pipeline.hincrby(this.key(shareId), field, Number(value));
    }
    await pipeline.sadd(this.dirtyKey, shareId).exec();
  }
}

function toCounts(hash: Record<string, string>): ShareCounts {
  const n = (field: string) => Number(hash[field] ?? 0) || 0;
  return {
    views: n('views'),
    plays: n('plays'),
    downloads: { bounce: n('dl_bounce'), project: n('dl_project'), stem: n('dl_stem') },
    lastAccessedAt: hash.last ? new Date(Number(hash.last)) : null,
  };
}

function hasAny(c: ShareCounts): boolean {
  return c.views + c.plays + c.downloads.bounce + c.downloads.project + c.downloads.stem > 0 || c.lastAccessedAt !== null;
}
