import {
  ForbiddenException,
  GoneException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import { DbContext } from '../../database/db-context';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import type { FileCategory } from '../files/file-categories';
import type { Share } from './entities/share.entity';
import type { ShareFile } from './entities/share-file.entity';
import type { ShareRecipient } from './entities/share-recipient.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRecipientRepository } from './repositories/share-recipient.repository';
import { ShareRepository } from './repositories/share.repository';
import { ShareClock } from './share-clock';
import { Downloads, downloadsOf, looksLikeToken, shareTokenHash } from './share-rules';
import { ShareTuning } from './share-tuning';
import { isUuid } from '../../common/ids';

/** What every share route needs to decide access: small, cached in Redis per token, dropped on every edit. */
export interface ShareAccess {
  id: string;
  ownerId: string;
  /** The token of the request that loaded this record (it matched the hash). Never stored: Redis holds records
   *  under the hash, without the token. */
  token: string;
  tokenHash: string;
  title: string;
  expiresAt: number | null;
  revokedAt: number | null;
  hasPassword: boolean;
  passwordVersion: number;
  /** The producer's account is disabled: every route of every link of theirs answers 410 until it is enabled. */
  ownerDisabled: boolean;
  downloads: Downloads;
  /** Download-enabled categories play their originals instead of previews. */
  streamOriginals: boolean;
  /** Set when the token is a recipient's link: their views, listens and downloads count for them too. Their
   *  revoke and expiry are already folded into `revokedAt`/`expiresAt`. */
  recipient: { id: string; name: string } | null;
  /** Recipients may comment (the page shows the comment form); `commentsPublic`: everyone sees every comment. */
  comments?: boolean;
  commentsPublic?: boolean;
  /** New with every record written to the cache: a page rendered for an older record is never served. */
  version: string;
}

export interface LoadedShareAccess {
  access: ShareAccess;
  /** The rendered page of this very record, when one is cached. */
  pageId: string | null;
  /** The share as read from PostgreSQL when the record was not cached (with owner and tracks for the page). */
  loaded: Share | null;
}

/** The share exists and is open, but asks for its password first. */
export class ShareLockedException extends HttpException {
  constructor(readonly token: string) {
    super({ message: 'This share is password-protected.', locked: true }, HttpStatus.FORBIDDEN);
  }
}

export type FileUse = 'play' | 'download';

const COOKIE = 'pd_share';
const COOKIE_MAX_AGE_MS = 7 * 24 * 3600_000;

/** A record as cached: everything but the token. */
type CachedAccess = Omit<ShareAccess, 'token'>;

/** The earlier of two optional moments (NULL: never). */
function earliest(a: Date | null | undefined, b: Date | null | undefined): number | null {
  const times = [a, b].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
  return times.length ? Math.min(...times) : null;
}

/** A share link's record, or (with `recipient`) the record of a recipient's own link to the same share. */
export function toAccess(share: Share, recipient?: ShareRecipient): CachedAccess {
  return {
    version: randomBytes(6).toString('base64url'),
    id: share.id,
    ownerId: share.owner.id,
    tokenHash: recipient ? recipient.tokenHash : share.tokenHash,
    title: share.title,
    expiresAt: earliest(share.expiresAt, recipient?.expiresAt),
    revokedAt: earliest(share.revokedAt, recipient?.revokedAt),
    hasPassword: Boolean(share.passwordHash),
    passwordVersion: share.passwordVersion,
    ownerDisabled: share.owner.disabled,
    downloads: downloadsOf(share),
    streamOriginals: share.streamOriginals,
    recipient: recipient ? { id: recipient.id, name: recipient.name } : null,
    comments: share.comments,
    commentsPublic: share.commentsPublic,
  };
}

/**
 * The one access check of share links, for the page and every file route: unknown token → 404, revoked → 410
 * "disabled", expired → 410 "expired", password not yet given → the password form, and per file: not in this
 * share → 404, download of a disabled category → 403.
 */
@Injectable()
export class ShareAccessService {
  /** Records being read from PostgreSQL in this process, by token. */
  private readonly loading = new Map<string, Promise<LoadedShareAccess>>();

  constructor(
    private readonly shares: ShareRepository,
    private readonly shareFiles: ShareFileRepository,
    private readonly recipients: ShareRecipientRepository,
    private readonly db: DbContext,
    private readonly redis: RedisService,
    private readonly clock: ShareClock,
    private readonly tuning: ShareTuning,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Keys are named by the token's hash, so a Redis SCAN lists no working link. */
  recordKey(tokenHash: string): string {
    return this.redis.key('share', 'rec', tokenHash);
  }

  pageKey(tokenHash: string): string {
    return this.redis.key('share', 'page', tokenHash);
  }

  /**
   * The token's access record and, for the page, the id of its rendered page — one small Redis read when both are
   * warm. On a miss the share is read with its owner and tracks in one query (`loaded`), which the page reuses;
   * concurrent misses for one token in this process share that query (a popular link whose record just expired
   * must not send every waiting view to PostgreSQL at once).
   */
  async load(token: string, withPage: boolean): Promise<LoadedShareAccess> {
    if (!looksLikeToken(token)) throw this.notFound();
    const tokenHash = shareTokenHash(token);
    const keys = withPage ? [this.recordKey(tokenHash), this.pageKey(tokenHash)] : [this.recordKey(tokenHash)];
    const [record, pagePointer] = await this.redis.client.mget(...keys);
    if (record) {
      // `recipient: null` first: records cached before recipient links existed have no such field.
      const cached = JSON.parse(record) as CachedAccess;
      const access: ShareAccess = { ...cached, recipient: cached.recipient ?? null, token };
      return { access, pageId: pageFor(access, pagePointer ?? null), loaded: null };
    }
    const key = `${tokenHash}\0${withPage}`;
    // Waiters share the one read, the share as read included: the page only reads from it.
    const pending = this.loading.get(key);
    if (pending) return pending;
    const loading = this.read(token, tokenHash, withPage).finally(() => this.loading.delete(key));
    this.loading.set(key, loading);
    return loading;
  }

  private async read(token: string, tokenHash: string, withPage: boolean): Promise<LoadedShareAccess> {
    // A context of its own: the link as it is in PostgreSQL now, whatever the request has loaded already.
    const { share, recipient } = await this.db.run(() => this.readLink(tokenHash, withPage));
    const cached = toAccess(share, recipient);
    // NX: an edit that landed meanwhile wrote its newer record (publish), which this older read must not replace.
    await this.redis.client.set(
      this.recordKey(tokenHash),
      JSON.stringify(cached),
      'PX',
      this.tuning.recordCacheMs,
      'NX',
    );
    return { access: { ...cached, token }, pageId: null, loaded: share };
  }

  private async readLink(
    tokenHash: string,
    withPage: boolean,
  ): Promise<{ share: Share; recipient: ShareRecipient | undefined }> {
    const share = await this.shares.findOne(
      { tokenHash },
      { populate: withPage ? ['owner', 'tracks', 'tracks.track'] : ['owner'], strategy: 'joined' },
    );
    if (share) return { share, recipient: undefined };
    // Not a share's own link: perhaps a recipient's link to one.
    const recipient = await this.recipients.findOne(
      { tokenHash },
      {
        populate: withPage ? ['share.owner', 'share.tracks', 'share.tracks.track'] : ['share.owner'],
        strategy: 'joined',
      },
    );
    if (!recipient) throw this.notFound();
    return { share: recipient.share, recipient };
  }

  /** Revoked, expired and disabled producers' shares answer 410 everywhere; "disabled" wins when several apply. */
  assertOpen(access: ShareAccess): void {
    if (access.ownerDisabled)
      throw new GoneException({ message: 'This link has been disabled', reason: 'owner-disabled' });
    if (access.revokedAt !== null)
      throw new GoneException({ message: 'This link has been disabled', reason: 'revoked' });
    if (access.expiresAt !== null && access.expiresAt <= this.clock.now().getTime()) {
      throw new GoneException({ message: 'This link has expired', reason: 'expired' });
    }
  }

  assertUnlocked(access: ShareAccess, req: Request): void {
    if (access.hasPassword && !this.isUnlocked(access, req)) throw new ShareLockedException(access.token);
  }

  isUnlocked(access: ShareAccess, req: Request): boolean {
    const presented = (req.cookies as Record<string, string> | undefined)?.[COOKIE];
    if (!presented) return false;
    const expected = Buffer.from(this.unlockValue(access));
    const given = Buffer.from(presented);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * After the right password: a cookie that opens this share only — scoped to its path, signed for its id and
   * password version (changing the password locks everyone out again).
   */
  setUnlocked(access: ShareAccess, res: Response): void {
    const expiresIn =
      access.expiresAt === null
        ? COOKIE_MAX_AGE_MS
        : Math.min(COOKIE_MAX_AGE_MS, access.expiresAt - this.clock.now().getTime());
    res.cookie(COOKIE, this.unlockValue(access), {
      path: `/s/${access.token}`,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.http.secureCookies,
      maxAge: Math.max(1000, expiresIn),
    });
  }

  private unlockValue(access: ShareAccess): string {
    return createHmac('sha256', this.config.session.secret)
      .update(`share-unlock\0${access.id}\0${access.passwordVersion}`)
      .digest('base64url');
  }

  /**
   * Counts one password attempt against the share itself (the per-address limit is the route's throttle) and
   * refuses with 429 once the share has had its five minutes' worth, right password or not.
   */
  async countPasswordAttempt(access: ShareAccess): Promise<void> {
    const key = this.redis.key('share', 'unlock-attempts', access.id);
    const window = 5 * 60_000;
    const [[, attempts], , [, ttl]] = (await this.redis.client
      .multi()
      .incr(key)
      .pexpire(key, window, 'NX')
      .pttl(key)
      .exec()) as [[null, number], [null, number], [null, number]];
    if (attempts > this.tuning.unlockAttemptsPerSharePer5Min) {
      throw new HttpException(
        {
          message: 'Too many password attempts for this link. Please wait a few minutes and try again.',
          retryAfterSeconds: Math.ceil(Math.max(ttl, 1000) / 1000),
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  /** The file if it belongs to this share (else 404, whatever other share it may belong to) and the use is allowed. */
  async file(access: ShareAccess, fileId: string, use: FileUse): Promise<ShareFile> {
    if (!isUuid(fileId)) throw new NotFoundException('This file is not part of this share.');
    const item = await this.shareFiles.findOne(
      { share: access.id, file: fileId },
      { populate: ['file', 'file.track'], strategy: 'joined' },
    );
    if (!item) throw new NotFoundException('This file is not part of this share.');
    if (use === 'download') this.assertDownloadable(access, item.file.category);
    return item;
  }

  assertDownloadable(access: ShareAccess, category: FileCategory): void {
    if (!access.downloads[category])
      throw new ForbiddenException('Downloads of these files are not enabled for this share.');
  }

  assertAnyDownloadable(access: ShareAccess): void {
    if (!Object.values(access.downloads).some(Boolean))
      throw new ForbiddenException('Downloads are not enabled for this share.');
  }

  /**
   * After an edit is committed: the share's new record replaces the cached one (so a view that read the share just
   * before the edit cannot put the old record back) and the rendered page goes.
   */
  async publish(...shares: Share[]): Promise<void> {
    await this.shares.populate(shares, ['owner']);
    await this.writeRecords(shares);
  }

  /**
   * After a producer's account was disabled or enabled: every one of their links gets a record saying so at once
   * (written over the cached ones, so a view that read the share just before cannot put the old record back).
   */
  async publishOwner(ownerId: string): Promise<void> {
    const shares = await this.db.run(() => this.shares.find({ owner: ownerId }, { populate: ['owner'] }));
    await this.writeRecords(shares);
  }

  /** After a recipient's link was revoked or changed (its share's edits go through `publish`). */
  async publishRecipient(recipient: ShareRecipient): Promise<void> {
    await this.recipients.populate(recipient, ['share.owner']);
    await this.writeRecords([recipient.share], [recipient]);
  }

  /** Every link of the shares gets its new record: the share's own and each recipient's. */
  private async writeRecords(shares: Share[], only?: ShareRecipient[]): Promise<void> {
    if (shares.length === 0) return;
    const recipients =
      only ?? (await this.db.run(() => this.recipients.find({ share: { $in: shares.map((s) => s.id) } })));
    const byId = new Map(shares.map((s) => [s.id, s]));
    const batch = this.redis.client.multi();
    const write = (tokenHash: string, record: CachedAccess) =>
      batch
        .set(this.recordKey(tokenHash), JSON.stringify(record), 'PX', this.tuning.recordCacheMs)
        .del(this.pageKey(tokenHash));
    if (!only) for (const share of shares) write(share.tokenHash, toAccess(share));
    for (const recipient of recipients) {
      const share = byId.get(recipient.share.id);
      if (share) write(recipient.tokenHash, toAccess(share, recipient));
    }
    await batch.exec();
  }

  /** Points the token at a page rendered for this record (stored by SharePageService under its content id). */
  async rememberPage(access: ShareAccess, pageId: string): Promise<void> {
    await this.redis.client.set(
      this.pageKey(access.tokenHash),
      `${access.version}|${pageId}`,
      'PX',
      Math.max(1, this.tuning.pageCacheMs),
    );
  }

  /** Every link's rendered page of a share: its own and each recipient's (they show the same files). */
  async invalidateSharePages(shareId: string): Promise<void> {
    const hashes = await this.shares.linkHashesOfShare(shareId);
    if (hashes.length) await this.redis.client.del(...hashes.map((hash) => this.pageKey(hash)));
  }

  /** For callers that found the share in the database, where only the token's hash is kept. */
  async invalidatePageByHash(tokenHash: string): Promise<void> {
    await this.redis.client.del(this.pageKey(tokenHash));
  }

  private notFound(): NotFoundException {
    return new NotFoundException('This link does not exist. Check that it was copied whole.');
  }
}

/** The page id a pointer (`<record version>|<page id>`) names, if it was rendered for this record. */
function pageFor(access: ShareAccess, pointer: string | null): string | null {
  if (!pointer) return null;
  const bar = pointer.indexOf('|');
  return bar > 0 && pointer.slice(0, bar) === access.version ? pointer.slice(bar + 1) : null;
}
