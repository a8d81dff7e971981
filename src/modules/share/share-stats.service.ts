import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { RedisService } from '../../common/redis/redis.module';
import { DbContext } from '../../database/db-context';
import type { FileCategory } from '../files/file-categories';
import { NotificationEvents, stableEventId } from '../notifications/notification-events';
import { ShareRecipientRepository } from './repositories/share-recipient.repository';
import { ShareRepository } from './repositories/share.repository';

export type ShareEvent = 'view' | 'play' | `download:${FileCategory}`;

export interface ShareCounts {
  views: number;
  plays: number;
  listenedSeconds: number;
  downloads: Record<FileCategory, number>;
  lastAccessedAt: Date | null;
}

/** The counters a link (a share or one recipient's link) keeps in PostgreSQL. */
export interface StoredCounts {
  views: number;
  plays: number;
  listenedSeconds: number;
  downloadsBounce: number;
  downloadsProject: number;
  downloadsStem: number;
  lastAccessedAt?: Date | null;
}

export function emptyCounts(): ShareCounts {
  return {
    views: 0,
    plays: 0,
    listenedSeconds: 0,
    downloads: { bounce: 0, project: 0, stem: 0 },
    lastAccessedAt: null,
  };
}

/** A link's statistics as the API shows them: what PostgreSQL holds plus what still waits in Redis. */
export function linkStats(stored: StoredCounts, pending: ShareCounts | undefined) {
  const p = pending ?? emptyCounts();
  const a = stored.lastAccessedAt ?? null;
  const b = p.lastAccessedAt;
  const last = a && b ? (a > b ? a : b) : (a ?? b);
  return {
    views: stored.views + p.views,
    plays: stored.plays + p.plays,
    listenedSeconds: Math.round((stored.listenedSeconds + p.listenedSeconds) * 10) / 10,
    downloads: {
      bounce: stored.downloadsBounce + p.downloads.bounce,
      project: stored.downloadsProject + p.downloads.project,
      stem: stored.downloadsStem + p.downloads.stem,
    },
    lastAccessedAt: last?.toISOString() ?? null,
  };
}

/** What one listen beacon (or Range estimate) changed of a play session, as counters. */
export interface ListenDelta {
  /** 1 when this is the session's first report. */
  sessions: number;
  /** 1 when the session just became a counted listen (≥ 30 s or half of the file). */
  plays: number;
  /** Seconds newly heard. */
  heard: number;
  /** Share of the file newly heard (0…1). */
  share: number;
  /** The tenth the session had stopped in before (-1: none yet) and stops in now. */
  stopFrom: number;
  stopTo: number;
}

/** The link a count belongs to: a share, and the recipient whose link it was, if any. */
export interface CountedLink {
  id: string;
  recipient: { id: string } | null;
}

const FIELDS: Record<ShareEvent, string> = {
  view: 'views',
  play: 'plays',
  'download:bounce': 'dl_bounce',
  'download:project': 'dl_project',
  'download:stem': 'dl_stem',
};
const FLUSH_BATCH = 500;
const NO_RECIPIENT = '-';

/** Events are handed to Redis at least this often, or sooner when this many are waiting. */
const HANDOFF_MS = 1_000;
const HANDOFF_EVENTS = 1_000;

/** Counters are kept per share, per recipient link, and per share × recipient × file for listens. */
type Kind = 'share' | 'recipient' | 'listen';
const KINDS: Kind[] = ['share', 'recipient', 'listen'];
const KEY_NAMES: Record<Kind, [string, string]> = {
  share: ['stats', 'stats-dirty'],
  recipient: ['rstats', 'rstats-dirty'],
  listen: ['lstats', 'lstats-dirty'],
};

/**
 * Views, listens and downloads without a database write per request. Each process adds events up in memory and
 * hands them to Redis once a second in one round trip (HINCRBYFLOAT into each counted thing's hash, marked dirty);
 * a scheduled job adds the hashes to PostgreSQL in batches — one UPDATE per share, per recipient link and per
 * listened file of each, however many requests or beacons there were. A crash loses at most a second of counts,
 * Redis at most one flush interval; the management page adds what is pending to what PostgreSQL has.
 */
@Injectable()
export class ShareStatsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ShareStatsService.name);
  private waiting = new Map<string, { kind: Kind; id: string; fields: Map<string, number>; last: number }>();
  private waitingEvents = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly shares: ShareRepository,
    private readonly recipients: ShareRecipientRepository,
    private readonly db: DbContext,
    private readonly events: NotificationEvents,
  ) {}

  private key(kind: Kind, id: string): string {
    return this.redis.key('share', KEY_NAMES[kind][0], id);
  }

  private dirtyKey(kind: Kind): string {
    return this.redis.key('share', KEY_NAMES[kind][1]);
  }

  /** Synchronous and allocation-light: the request never waits for counting. */
  record(shareId: string, event: ShareEvent, count = 1, at = Date.now()): void {
    if (count <= 0) return;
    this.add('share', shareId, FIELDS[event], count, at);
  }

  /** Counts for the share and, on a recipient's link, for the recipient too. */
  recordFor(link: CountedLink, event: ShareEvent, count = 1, at = Date.now()): void {
    if (count <= 0) return;
    this.add('share', link.id, FIELDS[event], count, at);
    if (link.recipient) this.add('recipient', link.recipient.id, FIELDS[event], count, at);
  }

  /** A play session's progress: the share's and recipient's plays and seconds, and the file's listening stats. */
  recordListen(link: CountedLink, fileId: string, d: ListenDelta, at = Date.now()): void {
    const targets: Array<[Kind, string]> = [['share', link.id]];
    if (link.recipient) targets.push(['recipient', link.recipient.id]);
    for (const [kind, id] of targets) {
      if (d.plays) this.add(kind, id, 'plays', d.plays, at);
      if (d.heard > 0) this.add(kind, id, 'listened', d.heard, at);
    }
    const row = `${link.id}|${link.recipient?.id ?? NO_RECIPIENT}|${fileId}`;
    if (d.sessions) this.add('listen', row, 'sessions', d.sessions, at);
    if (d.plays) this.add('listen', row, 'plays', d.plays, at);
    if (d.heard > 0) this.add('listen', row, 'listened', d.heard, at);
    if (d.share > 0) this.add('listen', row, 'share', d.share, at);
    if (d.stopFrom !== d.stopTo) {
      if (d.stopFrom >= 0) this.add('listen', row, `s${d.stopFrom}`, -1, at);
      if (d.stopTo >= 0) this.add('listen', row, `s${d.stopTo}`, 1, at);
    }
  }

  private add(kind: Kind, id: string, field: string, count: number, at: number): void {
    const slot = `${kind}\0${id}`;
    let entry = this.waiting.get(slot);
    if (!entry) {
      entry = { kind, id, fields: new Map(), last: 0 };
      this.waiting.set(slot, entry);
    }
    entry.fields.set(field, (entry.fields.get(field) ?? 0) + count);
    entry.last = Math.max(entry.last, at);
    this.waitingEvents += 1;
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
    for (const { kind, id, fields, last } of batch.values()) {
      const key = this.key(kind, id);
      for (const [field, n] of fields) {
        if (n === 0) continue;
        if (Number.isInteger(n)) multi.hincrby(key, field, n);
        else multi.hincrbyfloat(key, field, n);
      }
      if (kind !== 'listen') multi.hset(key, 'last', String(last));
      multi.sadd(this.dirtyKey(kind), id);
    }
    try {
      await multi.exec();
    } catch (err) {
      // Counting must never break a recipient's page; the counts of this second are lost, and said so.
      this.logger.warn(
        { entries: batch.size, error: (err as Error).message },
        'could not hand share counters to Redis',
      );
    }
  }

  /** Before the Redis client closes (that happens in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.handOff();
  }

  /** Counts recorded but not yet flushed, per share. */
  pending(shareIds: string[]): Promise<Map<string, ShareCounts>> {
    return this.pendingOf('share', shareIds);
  }

  /** Counts recorded but not yet flushed, per recipient link. */
  pendingRecipients(recipientIds: string[]): Promise<Map<string, ShareCounts>> {
    return this.pendingOf('recipient', recipientIds);
  }

  private async pendingOf(kind: Kind, ids: string[]): Promise<Map<string, ShareCounts>> {
    const result = new Map<string, ShareCounts>();
    if (ids.length === 0) return result;
    await this.handOff();
    const pipeline = this.redis.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.key(kind, id));
    const replies = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => result.set(id, toCounts((replies[i]?.[1] as Record<string, string>) ?? {})));
    return result;
  }

  /** Moves pending counts into PostgreSQL. Safe to run concurrently: each hash is read and deleted atomically. */
  async flush(): Promise<number> {
    await this.handOff();
    let flushed = 0;
    // Recipients before listens: a listen row names its recipient.
    for (const kind of KINDS) {
      for (;;) {
        const ids = await this.redis.client.spop(this.dirtyKey(kind), FLUSH_BATCH);
        if (!ids || ids.length === 0) break;
        for (const [index, id] of ids.entries()) {
          const [[, hash]] = ((await this.redis.client
            .multi()
            .hgetall(this.key(kind, id))
            .del(this.key(kind, id))
            .exec()) ?? [[null, {}]]) as [[unknown, Record<string, string>]];
          if (!hash || Object.keys(hash).length === 0) continue;
          try {
            if (await this.write(kind, id, hash)) flushed += 1;
          } catch (err) {
            // Put them back for the next run rather than lose them, and the ones this run had yet to write.
            await this.restore(kind, id, hash);
            const rest = ids.slice(index + 1);
            if (rest.length) await this.redis.client.sadd(this.dirtyKey(kind), ...rest);
            throw err;
          }
        }
      }
    }
    return flushed;
  }

  private async write(kind: Kind, id: string, hash: Record<string, string>): Promise<boolean> {
    if (kind === 'listen') return this.addListen(id, hash);
    const counts = toCounts(hash);
    if (!hasAny(counts)) return false;
    if (kind === 'recipient') await this.addRecipient(id, counts);
    else await this.addShare(id, counts);
    return true;
  }

  /** In a context of its own: the flush runs in a job, and adds to the rows as they are now. */
  private async addShare(shareId: string, c: ShareCounts): Promise<void> {
    const row = await this.db.run(() => this.shares.addCounters(shareId, c));
    if (row) await this.publish(shareId, row, c);
  }

  private async addRecipient(recipientId: string, c: ShareCounts): Promise<void> {
    const found = await this.db.run(async () => {
      const row = await this.recipients.addCounters(recipientId, c);
      // A recipient's first open of their own link (its counter left 0 here) is news to the producer too.
      if (!row || !(c.views > 0 && Number(row.views) === c.views)) return null;
      const share = await this.shares.findOne({ id: row.share }, { fields: ['owner', 'title'] });
      return share ? { share, name: row.name } : null;
    });
    if (!found) return;
    const { share, name } = found;
    await this.events.publish(
      share.owner.id,
      'share.opened',
      { shareId: share.id, title: share.title, recipient: { id: recipientId, name } },
      { id: stableEventId(`share.opened:recipient:${recipientId}`) },
    );
  }

  /** One upsert per share × recipient × file: its sessions, plays, seconds, shares heard and where sessions stop. */
  private async addListen(row: string, hash: Record<string, string>): Promise<boolean> {
    const [shareId, recipient, fileId] = row.split('|');
    if (!shareId || !fileId) return false;
    const n = (field: string) => Number(hash[field] ?? 0) || 0;
    await this.shares.addListen({
      shareId,
      recipientId: recipient === NO_RECIPIENT ? null : recipient,
      fileId,
      sessions: Math.trunc(n('sessions')),
      plays: Math.trunc(n('plays')),
      listenedSeconds: n('listened'),
      shareSum: n('share'),
      stops: Array.from({ length: 10 }, (_, i) => Math.trunc(n(`s${i}`))),
    });
    return true;
  }

  /** Tells the producer (webhooks, email): the first view of the link (its counter left 0 here) and downloads. */
  private async publish(
    shareId: string,
    share: { owner: string; title: string; views: number | string },
    c: ShareCounts,
  ): Promise<void> {
    const base = { shareId, title: share.title };
    // The driver returns the counter as a string (a bigint column).
    if (c.views > 0 && Number(share.views) === c.views) {
      await this.events.publish(share.owner, 'share.opened', base, { id: stableEventId(`share.opened:${shareId}`) });
    }
    for (const [category, count] of Object.entries(c.downloads)) {
      if (count > 0) await this.events.publish(share.owner, 'share.downloaded', { ...base, category, count });
    }
  }

  private async restore(kind: Kind, id: string, hash: Record<string, string>): Promise<void> {
    const pipeline = this.redis.client.multi();
    const key = this.key(kind, id);
    for (const [field, value] of Object.entries(hash)) {
      if (field === 'last') pipeline.hset(key, field, value);
      else pipeline.hincrbyfloat(key, field, Number(value));
    }
    await pipeline.sadd(this.dirtyKey(kind), id).exec();
  }
}

function toCounts(hash: Record<string, string>): ShareCounts {
  const n = (field: string) => Number(hash[field] ?? 0) || 0;
  return {
    views: Math.trunc(n('views')),
    plays: Math.trunc(n('plays')),
    listenedSeconds: n('listened'),
    downloads: {
      bounce: Math.trunc(n('dl_bounce')),
      project: Math.trunc(n('dl_project')),
      stem: Math.trunc(n('dl_stem')),
    },
    lastAccessedAt: hash.last ? new Date(Number(hash.last)) : null,
  };
}

function hasAny(c: ShareCounts): boolean {
  return (
    c.views + c.plays + c.listenedSeconds + c.downloads.bounce + c.downloads.project + c.downloads.stem > 0 ||
    c.lastAccessedAt !== null
  );
}
