import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { HttpException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import { createHash } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import type { TrackFile } from '../files/entities/track-file.entity';
import { isPlayable } from '../files/file-categories';
import { ShareRecipient } from './entities/share-recipient.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRepository } from './repositories/share.repository';
import { NotificationEvents, stableEventId } from '../notifications/notification-events';
import { PreviewsService } from '../media/previews.service';
import type { ListenBeaconDto } from './dto/share.dto';
import { ShareAccess, ShareAccessService } from './share-access.service';
import { ShareStatsService } from './share-stats.service';

/** A play session not heard from for this long is over; a later report starts nothing new but is ignored. */
const SESSION_TTL_MS = 2 * 3600_000;
/** Without JavaScript, one browser's requests for one file within this window are one play session. */
const RANGE_SESSION_TTL_MS = 30 * 60_000;
/** Browsers play at most 16× (a beacon can't claim to have heard more than that since the session began). */
const MAX_RATE = 16;
/** A play counts once this much was heard: 30 s, or half of a file shorter than a minute. */
export const LISTEN_SECONDS = 30;

/**
 * Atomically advances one play session (a Redis hash) and says what changed, so concurrent or repeated reports of
 * the same session never count twice. Heard seconds only grow, are capped by the file's duration (and, for
 * beacons, by 16× the time since the session began); a play counts once, when it reaches 30 s or half the file.
 * ARGV: heard, position, duration (-1: the session's own, 'unknown' if it has none yet), now, ttl, max rate (0:
 * none), meta. Returns 'unknown', or ok, heard delta, share delta, previous stop tenth, stop tenth, newly counted,
 * new session, meta, heard.
 */
const PROGRESS_SCRIPT = `
local k = KEYS[1]
local heard = tonumber(ARGV[1])
local pos = tonumber(ARGV[2])
local dur = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local rate = tonumber(ARGV[6])
local s = redis.call('HMGET', k, 'heard', 'stop', 'counted', 'dur', 'start', 'meta')
local fresh = not s[1]
if dur < 0 then
  if fresh then return {'unknown'} end
  dur = tonumber(s[4])
end
local old = 0
local start = now
local oldStop = -1
if not fresh then
  old = tonumber(s[1])
  start = tonumber(s[5])
  oldStop = tonumber(s[2])
end
local cap = dur
if rate > 0 then cap = math.min(cap, (now - start) / 1000 * rate + 10) end
if heard > cap then heard = cap end
if heard < old then heard = old end
if pos < 0 then pos = 0 end
if pos > dur then pos = dur end
local stop = math.min(9, math.floor(pos / dur * 10))
local counted = s[3] == '1'
local newly = 0
if (not counted) and heard >= math.min(${LISTEN_SECONDS}, dur / 2) then newly = 1 end
local done = '0'
if counted or newly == 1 then done = '1' end
redis.call('HSET', k, 'heard', tostring(heard), 'stop', tostring(stop), 'counted', done, 'dur', tostring(dur), 'start', tostring(start))
local meta = s[6]
if fresh then
  meta = ARGV[7]
  redis.call('HSET', k, 'meta', meta)
end
redis.call('PEXPIRE', k, ARGV[5])
local shareOld = math.min(old, dur) / dur
local shareNew = math.min(heard, dur) / dur
local isNew = 0
if fresh then isNew = 1 end
return {'ok', tostring(heard - old), tostring(shareNew - shareOld), oldStop, stop, newly, isNew, meta or '', tostring(heard)}
`;

type ProgressReply = ['unknown'] | ['ok', string, string, number, number, number, number, string, string];

interface SessionMeta {
  trackId: string;
  fileName: string;
}

export interface ListenReport {
  tracks: Array<ListenTotals & { trackId: string; title: string }>;
  files: Array<
    ListenTotals & { fileId: string; name: string; trackId: string; trackTitle: string; durationSeconds: number | null }
  >;
  /** `id` null: the share's own link. */
  recipients: Array<ListenTotals & { id: string | null; name: string }>;
}

export interface ListenTotals {
  sessions: number;
  plays: number;
  listenedSeconds: number;
  /** Mean share of the file heard per play session (0…1). */
  averageShare: number;
  /** Play sessions that stopped in each tenth of the file. */
  stops: number[];
}

type ProgressCommand = (key: string, ...args: string[]) => Promise<ProgressReply>;

/**
 * Listens, not requests: play sessions reported by the player's beacons (or, without JavaScript, estimated from
 * the bytes the play route relayed), counted as a listen once 30 s or half the file was heard, once per session.
 * Every report costs Redis work only; the counters reach PostgreSQL in ShareStatsService's batched flush.
 */
@Injectable()
export class ShareListensService {
  private readonly logger = new Logger(ShareListensService.name);
  /** The script, sent once and then called by its hash (ioredis falls back to sending it when Redis lost it). */
  private readonly progressCommand: ProgressCommand;

  constructor(
    private readonly shares: ShareRepository,
    private readonly shareFiles: ShareFileRepository,
    @InjectRepository(ShareRecipient) private readonly recipients: EntityRepository<ShareRecipient>,
    private readonly redis: RedisService,
    private readonly access: ShareAccessService,
    private readonly stats: ShareStatsService,
    private readonly previews: PreviewsService,
    private readonly events: NotificationEvents,
  ) {
    this.redis.client.defineCommand('pdListenProgress', { numberOfKeys: 1, lua: PROGRESS_SCRIPT });
    const client = this.redis.client as unknown as { pdListenProgress: ProgressCommand };
    this.progressCommand = client.pdListenProgress.bind(client);
  }

  /** One beacon of the player. The file must be a playable file of this share (else 404). */
  async beacon(link: ShareAccess, beacon: ListenBeaconDto): Promise<void> {
    try {
      await this.measure(link, beacon);
    } catch (err) {
      if (err instanceof HttpException) throw err;
      // Redis away: this report is lost (said so), the player goes on; the next one may count.
      this.logger.warn({ error: (err as Error).message }, 'could not record a listen beacon');
    }
  }

  private async measure(link: ShareAccess, beacon: ListenBeaconDto): Promise<void> {
    const key = this.sessionKey(link, beacon.fileId, `js\0${beacon.session}`);
    let reply = await this.progress(key, beacon.heard, beacon.position, -1, MAX_RATE, '');
    if (reply[0] === 'unknown') {
      // The session's first report: the file is checked once, and its duration taken from what the server knows.
      const { file } = await this.access.file(link, beacon.fileId, 'play');
      if (!isPlayable(file)) throw new NotFoundException('This file cannot be played, only listed.');
      const duration = (await this.durationOf(file)) ?? beacon.duration ?? null;
      if (!duration) return; // nothing to measure against until the player knows the duration
      reply = await this.progress(key, beacon.heard, beacon.position, duration, MAX_RATE, meta(file));
    }
    this.counted(link, beacon.fileId, key, reply);
  }

  /**
   * Without JavaScript: what the play route relayed of a file (a Range request from `start`, `sent` bytes of
   * `total`) tells how far the native player got. The furthest byte delivered, as a share of the file, is the
   * estimate (an upper bound: browsers read ahead). One browser's requests within 30 minutes are one session.
   */
  async estimate(
    link: ShareAccess,
    file: TrackFile,
    req: Request,
    relayed: { start: number; sent: number; total: number },
  ): Promise<void> {
    if (relayed.total <= 0 || relayed.sent <= 0) return;
    try {
      await this.estimateFrom(link, file, req, relayed);
    } catch (err) {
      this.logger.warn({ error: (err as Error).message }, 'could not estimate a listen');
    }
  }

  private async estimateFrom(
    link: ShareAccess,
    file: TrackFile,
    req: Request,
    relayed: { start: number; sent: number; total: number },
  ): Promise<void> {
    const duration = await this.durationOf(file);
    if (!duration) return;
    const reached = Math.min(1, (relayed.start + relayed.sent) / relayed.total) * duration;
    const browser = `${req.ip ?? ''}\0${req.headers['user-agent'] ?? ''}`;
    const key = this.sessionKey(link, file.id, `range\0${browser}`);
    const reply = await this.progress(key, reached, reached, duration, 0, meta(file), RANGE_SESSION_TTL_MS);
    this.counted(link, file.id, key, reply);
  }

  private counted(link: ShareAccess, fileId: string, key: string, reply: ProgressReply): void {
    if (reply[0] !== 'ok') return;
    const [, heard, share, stopFrom, stopTo, newly, fresh, metaJson, total] = reply;
    this.stats.recordListen(link, fileId, {
      sessions: fresh,
      plays: newly,
      heard: Number(heard),
      share: Number(share),
      stopFrom,
      stopTo,
    });
    if (!newly) return;
    const about = parseMeta(metaJson);
    // Enqueued only (never awaited by the player's request); the session key makes the event id, so a retried
    // report can't announce the same listen twice.
    void this.events.publish(
      link.ownerId,
      'share.listened',
      {
        shareId: link.id,
        title: link.title,
        recipient: link.recipient,
        fileId,
        trackId: about?.trackId ?? null,
        fileName: about?.fileName ?? null,
        listenedSeconds: Math.round(Number(total)),
      },
      { id: stableEventId(`share.listened:${key}`) },
    );
  }

  private async progress(
    key: string,
    heard: number,
    position: number,
    duration: number,
    rate: number,
    metaJson: string,
    ttl = SESSION_TTL_MS,
  ) {
    return this.progressCommand(
      key,
      String(heard),
      String(position),
      String(duration),
      String(Date.now()),
      String(ttl),
      String(rate),
      metaJson,
    );
  }

  /** Sessions are named by a hash: Redis holds no token, no address and no user agent. */
  private sessionKey(link: ShareAccess, fileId: string, session: string): string {
    const id = createHash('sha256').update(`${link.tokenHash}\0${fileId}\0${session}`).digest('base64url');
    return this.redis.key('share', 'listen', id);
  }

  private async durationOf(file: TrackFile): Promise<number | null> {
    if (file.durationSeconds && file.durationSeconds > 0) return file.durationSeconds;
    const preview = (await this.previews.forFiles([file])).get(file.id);
    return preview?.durationSeconds && preview.durationSeconds > 0 ? preview.durationSeconds : null;
  }

  /**
   * The producer's report of a share (404 unless it is theirs): per file of the share and per link (each recipient,
   * and the share's own link), sessions, listens, seconds and average share heard, and where sessions stopped.
   * From PostgreSQL: what the last flush brought (every `statsFlushMs`).
   */
  async report(ownerId: string, shareId: string): Promise<ListenReport> {
    const share = await this.shares.findOne({ id: shareId, owner: ownerId });
    if (!share) throw new NotFoundException('share not found');
    const items = await this.shareFiles.find({ share: share.id }, { populate: ['file', 'file.track'] });
    const byFile = await this.totals(share.id, 'file_id');
    const byLink = await this.totals(share.id, 'recipient_id');
    const recipients = await this.recipients.find({ share: share.id }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const empty = (): ListenTotals => ({
      sessions: 0,
      plays: 0,
      listenedSeconds: 0,
      averageShare: 0,
      stops: Array(10).fill(0) as number[],
    });
    const files = items
      .map((i) => i.file)
      .filter((f) => isPlayable(f))
      .map((f) => ({
        fileId: f.id,
        name: f.name,
        trackId: f.track.id,
        trackTitle: f.track.title,
        durationSeconds: f.durationSeconds ?? null,
        ...(byFile.get(f.id) ?? empty()),
      }));
    // Per track: its files' sessions together (the main bounce, its stems…).
    const tracks = new Map<string, ListenReport['tracks'][number]>();
    for (const f of files) {
      const t = tracks.get(f.trackId) ?? { trackId: f.trackId, title: f.trackTitle, ...empty() };
      const shareSum = t.averageShare * t.sessions + f.averageShare * f.sessions;
      t.sessions += f.sessions;
      t.plays += f.plays;
      t.listenedSeconds = Math.round((t.listenedSeconds + f.listenedSeconds) * 10) / 10;
      t.averageShare = t.sessions ? shareSum / t.sessions : 0;
      t.stops = t.stops.map((n, i) => n + f.stops[i]);
      tracks.set(f.trackId, t);
    }
    return {
      tracks: [...tracks.values()],
      files,
      recipients: [
        { id: null, name: 'The share’s own link', ...(byLink.get(null) ?? empty()) },
        ...recipients.map((r) => ({ id: r.id as string | null, name: r.name, ...(byLink.get(r.id) ?? empty()) })),
      ],
    };
  }

  private async totals(shareId: string, by: 'file_id' | 'recipient_id'): Promise<Map<string | null, ListenTotals>> {
    const rows = await this.shares.listenTotals(shareId, by);
    return new Map(
      rows.map((r) => {
        const sessions = Number(r.sessions);
        return [
          r.key,
          {
            sessions,
            plays: Number(r.plays),
            listenedSeconds: Math.round(Number(r.listened_seconds) * 10) / 10,
            averageShare: sessions ? Math.min(1, Number(r.share_sum) / sessions) : 0,
            stops: r.stops.map(Number),
          },
        ];
      }),
    );
  }
}

function meta(file: TrackFile): string {
  const about: SessionMeta = { trackId: file.track.id, fileName: file.name };
  return JSON.stringify(about);
}

function parseMeta(json: string): SessionMeta | null {
  try {
    return JSON.parse(json) as SessionMeta;
  } catch {
    return null;
  }
}
