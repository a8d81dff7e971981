import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import {
  ConflictException,
  GoneException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { UsersService } from '../accounts/users.service';
import { NotificationEvents, stableEventId } from '../notifications/notification-events';
import type { AskForMoreTimeDto } from './dto/comment.dto';
import type { Share } from './entities/share.entity';
import { ShareAccessRequest } from './entities/share-access-request.entity';
import { ShareRepository } from './repositories/share.repository';
import { ShareAccess, ShareAccessService } from './share-access.service';
import { ShareClock } from './share-clock';
import { isUuid } from '../../common/ids';

const DAY_MS = 24 * 3600_000;
/** The producer hears of a link expiring this long before it does. */
export const EXPIRING_NOTICE_MS = 3 * DAY_MS;
/** What "extend by 7 days" adds, and how long its signed link works. */
export const EXTEND_BY_MS = 7 * DAY_MS;
export const EXTEND_LINK_VALID_MS = 7 * DAY_MS;

export interface ExtendLink {
  shareId: string;
  requestId: string;
  /** Milliseconds since the epoch after which the link no longer works. */
  expires: number;
  sig: string;
}

/** Why an extend link did nothing: shown to the producer as it is. */
export class ExtendLinkRefused extends HttpException {}

/**
 * A link's end of life, told to its producer: "expires in 3 days" (a sweep, once per link and expiry), someone
 * opening it after it expired, and "Ask for more time" from the expired page with a signed one-click extend link.
 */
@Injectable()
export class ShareExpiryService {
  private readonly logger = new Logger(ShareExpiryService.name);

  constructor(
    private readonly shares: ShareRepository,
    @InjectRepository(ShareAccessRequest) private readonly requests: EntityRepository<ShareAccessRequest>,
    private readonly db: DbContext,
    private readonly users: UsersService,
    private readonly redis: RedisService,
    private readonly clock: ShareClock,
    private readonly access: ShareAccessService,
    private readonly events: NotificationEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Every open link whose expiry is at most 3 days away and not yet told: marked told for that expiry in the same
   * statement that finds it (so two sweeps at once tell once), then published with an id stable per link and expiry.
   * A link extended later is told again before its new expiry.
   */
  async sweepExpiring(): Promise<number> {
    const now = this.clock.now();
    // Disabled producers hear of nothing; their links are told once they are enabled again.
    const disabled = await this.db.run(() => this.users.disabledIds());
    const rows = await this.shares.claimExpiryWarnings(now, new Date(now.getTime() + EXPIRING_NOTICE_MS), disabled);
    for (const row of rows) {
      const expiresAt = new Date(row.expires_at).toISOString();
      await this.events.publish(
        row.owner_id,
        'share.expiring',
        { shareId: row.id, title: row.title, expiresAt },
        { id: stableEventId(`share.expiring:${row.id}:${expiresAt}`) },
      );
    }
    return rows.length;
  }

  /** Someone opened an expired link: told at most once a day per link, whatever the number of visits. */
  async expiredVisit(access: ShareAccess): Promise<void> {
    const day = this.clock.now().toISOString().slice(0, 10);
    const first = await this.redis.client.set(
      this.redis.key('share', 'expired-visit', access.id, day),
      '1',
      'EX',
      2 * 24 * 3600,
      'NX',
    );
    if (first !== 'OK') return;
    await this.events.publish(
      access.ownerId,
      'share.expired-visited',
      {
        shareId: access.id,
        title: access.title,
        expiresAt: access.expiresAt ? new Date(access.expiresAt).toISOString() : null,
      },
      { id: stableEventId(`share.expired-visited:${access.id}:${day}`) },
    );
  }

  /** "Ask for more time": only on a link that expired (a disabled one stays disabled; an open one needs nothing). */
  async askForMoreTime(access: ShareAccess, dto: AskForMoreTimeDto): Promise<ShareAccessRequest> {
    if (access.ownerDisabled || access.revokedAt !== null)
      throw new GoneException({ message: 'This link has been disabled', reason: 'revoked' });
    if (access.expiresAt === null || access.expiresAt > this.clock.now().getTime()) {
      throw new ConflictException('This link has not expired: it opens as it is.');
    }
    const request = this.requests.create({
      shareId: access.id,
      name: dto.name,
      message: dto.message || null,
      createdAt: this.clock.now(),
    });
    await this.db.flush();
    const link = this.signedLink(access.id, request.id, request.createdAt.getTime() + EXTEND_LINK_VALID_MS);
    await this.events.publish(access.ownerId, 'access.requested', {
      shareId: access.id,
      title: access.title,
      requestId: request.id,
      name: request.name,
      message: request.message,
      extendUrl: this.extendUrl(link),
      extendUrlExpiresAt: new Date(link.expires).toISOString(),
    });
    return request;
  }

  signedLink(shareId: string, requestId: string, expires: number): ExtendLink {
    return { shareId, requestId, expires, sig: this.signature(shareId, requestId, expires) };
  }

  extendUrl(link: ExtendLink): string {
    return `${this.config.http.publicUrl}/shares/${link.shareId}/extend?request=${link.requestId}&expires=${link.expires}&sig=${link.sig}`;
  }

  /**
   * Checks an extend link without using it (the confirmation page): its signature, its age, that it was not used,
   * that the link is not disabled. Throws a refusal that says which.
   */
  async check(link: ExtendLink): Promise<{ share: Share; request: ShareAccessRequest }> {
    const expected = Buffer.from(this.signature(link.shareId, link.requestId, link.expires));
    const given = Buffer.from(String(link.sig ?? ''));
    if (!isUuid(link.requestId) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ExtendLinkRefused(
        {
          message:
            'This extend link is not valid: it was changed or cut short. Open it from the email again, or extend the link from its page.',
          reason: 'bad-signature',
        },
        400,
      );
    }
    if (link.expires <= this.clock.now().getTime()) {
      throw new ExtendLinkRefused(
        {
          message: 'This extend link has expired (they work for 7 days). Extend the link from its page instead.',
          reason: 'link-expired',
        },
        410,
      );
    }
    const request = await this.requests.findOne({ id: link.requestId, shareId: link.shareId });
    const share = request ? await this.shares.findOne({ id: link.shareId }, { populate: ['owner'] }) : null;
    if (!request || !share) throw new NotFoundException('This link or request no longer exists.');
    if (request.extendedAt) {
      throw new ExtendLinkRefused(
        {
          message: `This extend link was used already, on ${request.extendedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
          reason: 'used',
        },
        409,
      );
    }
    if (share.revokedAt || share.owner.disabled)
      throw new ExtendLinkRefused({ message: 'This link is disabled and cannot be extended.', reason: 'revoked' }, 409);
    return { share, request };
  }

  /**
   * Uses an extend link: the share's expiry moves 7 days past now (or past its expiry, if that is later), once.
   * The request is marked used in the same statement that checks it was not, so two clicks extend once.
   */
  async extend(link: ExtendLink): Promise<Share> {
    const { share, request } = await this.check(link);
    const now = this.clock.now();
    const claimed = await this.requests.nativeUpdate({ id: request.id, extendedAt: null }, { extendedAt: now });
    if (claimed === 0)
      throw new ExtendLinkRefused({ message: 'This extend link was used already.', reason: 'used' }, 409);
    const from = Math.max(now.getTime(), share.expiresAt?.getTime() ?? now.getTime());
    share.expiresAt = new Date(from + EXTEND_BY_MS);
    share.expiry = '7d';
    await this.db.flush();
    await this.access.publish(share);
    this.logger.log({ shareId: share.id, requestId: request.id }, 'share extended from an access request');
    return share;
  }

  private signature(shareId: string, requestId: string, expires: number): string {
    return createHmac('sha256', this.config.session.secret)
      .update(`share-extend\0${shareId}\0${requestId}\0${expires}`)
      .digest('hex');
  }
}
