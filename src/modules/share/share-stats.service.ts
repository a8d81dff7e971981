import { EntityManager, raw } from '@mikro-orm/postgresql';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../../common/redis/redis.module';
import type { FileCategory } from '../files/file-categories';
import { NotificationEvents, stableEventId } from '../notifications/notification-events';
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

/** Events are handed to Redis at least this often, or sooner when this many are waiting. */
const HANDOFF_MS = 1_000;
const HANDOFF_EVENTS = 1_000;

/**
 * Views, plays and downloads without a database write per request. Each process adds events up in memory and
 * hands them to Redis once a second in one round trip (HINCRBY into each share's hash, the share marked dirty); a
 * scheduled job adds the hashes to PostgreSQL in batches. A crash loses at most a second of counts, Redis at most
 * one flush interval; the management page adds what is pending to what PostgreSQL has.
 */
@Injectable()
export class ShareStatsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShareStatsService.name);
  private waiting = new Map<string, { fields: Map<string, number>; last: number }>();
  private waitingEvents = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly em: EntityManager,
    private readonly events: NotificationEvents,
  ) {}

  private key(shareId: string): string {
    return this.redis.key('share', 'stats', shareId);
  }

  private get dirtyKey(): string {
    return this.redis.key('share', 'stats-dirty');
  }

  /** Synchronous and allocation-light: the request never waits for counting. */
  record(shareId: string, event: ShareEvent, count = 1, at = Date.now()): void {
    if (count <= 0) return;
    let entry = this.waiting.get(shareId);
    if (!entry) {
      entry = { fields: new Map(), last: 0 };
      this.waiting.set(shareId, entry);
    }
    const field = FIELDS[event];
    entry.fields.set(field, (entry.fields.get(field) ?? 0) + count);
    entry.last = Math.max(entry.last, at);
    this.waitingEvents += count;
    if (this.waitingEvents >= HANDOFF_EVENTS) void this.handOff();
    else this.timer ??= setTimeout(() => void this.handOff(), HANDOFF_MS).unref();
  }

  /** Moves this process's waiting events to Redis (one round trip). */
  async handOff(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.waiting.size === 0) return;
    const batch = this.waiting;
    this.waiting = new Map();
    this.waitingEvents = 0;
    const multi = this.redis.client.multi();
    for (const [shareId, { fields, last }] of batch) {
      for (const [field, n] of fields) multi.hincrby(this.key(shareId), field, n);
      multi.hset(this.key(shareId), 'last', String(last));
      multi.sadd(this.dirtyKey, shareId);
    }
    try {
      await multi.exec();
    } catch (err) {
      // Counting must never break a recipient's page; the counts of this second are lost, and said so.
      this.logger.warn({ shares: batch.size, error: (err as Error).message }, 'could not hand share counters to Redis');
    }
  }

  /** Before the Redis client closes (that happens in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.handOff();
  }

  /** Counts recorded but not yet flushed, per share. */
  async pending(shareIds: string[]): Promise<Map<string, ShareCounts>> {
    const result = new Map<string, ShareCounts>();
    if (shareIds.length === 0) return result;
    await this.handOff();
    const pipeline = this.redis.client.pipeline();
    for (const id of shareIds) pipeline.hgetall(this.key(id));
    const replies = (await pipeline.exec()) ?? [];
    shareIds.forEach((id, i) => result.set(id, toCounts((replies[i]?.[1] as Record<string, string>) ?? {})));
    return result;
  }

  /** Moves pending counts into PostgreSQL. Safe to run concurrently: each hash is read and deleted atomically. */
  async flush(): Promise<number> {
    await this.handOff();
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
    const rows = (await this.em
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
      .returning(['owner', 'title', 'views'])
      .execute('all')) as Array<{ owner: string; title: string; views: number | string }>;
    if (rows[0]) await this.publish(shareId, rows[0], c);
  }

  /** Tells the producer (webhooks, email): the first view of the link (its counter left 0 here) and downloads. */
  private async publish(shareId: string, share: { owner: string; title: string; views: number | string }, c: ShareCounts): Promise<void> {
    const base = { shareId, title: share.title };
    // The driver returns the counter as a string (a bigint column).
    if (c.views > 0 && Number(share.views) === c.views) {
      await this.events.publish(share.owner, 'share.opened', base, { id: stableEventId(`share.opened:${shareId}`) });
    }
    for (const [category, count] of Object.entries(c.downloads)) {
      if (count > 0) await this.events.publish(share.owner, 'share.downloaded', { ...base, category, count });
    }
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
