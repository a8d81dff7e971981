import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { SecretBox } from '../../common/crypto/secret-box';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import type { FileCategory } from '../files/file-categories';
import { CreateRecipientDto } from './dto/share.dto';
import type { Share } from './entities/share.entity';
import type { ShareRecipient } from './entities/share-recipient.entity';
import { ShareRecipientRepository } from './repositories/share-recipient.repository';
import { ShareRepository } from './repositories/share.repository';
import { ShareAccessService } from './share-access.service';
import { ShareClock } from './share-clock';
import { parseRecipientLine } from './share-recipient-lines';
import { expiresAtFor, linkStatus, LinkStatus, newShareToken, shareTokenHash } from './share-rules';
import { linkStats, ShareStatsService } from './share-stats.service';

export type RecipientStatus = LinkStatus;

/** A recipient link as its producer sees it (API and the share's page). */
export interface RecipientView {
  id: string;
  name: string;
  email: string | null;
  note: string | null;
  url: string;
  path: string;
  /** The link's own state; the share being disabled or expired stops it too. */
  status: RecipientStatus;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  stats: {
    views: number;
    plays: number;
    listenedSeconds: number;
    downloads: Record<FileCategory, number>;
    lastAccessedAt: string | null;
  };
}

/** Recipients one share may have, and names one request (or one paste of lines) may add. */
export const MAX_RECIPIENTS_PER_SHARE = 500;
export const MAX_RECIPIENTS_PER_REQUEST = 100;

/** A recipient's sealed token is bound to its row, like a share's. */
export function recipientTokenAad(recipientId: string): string {
  return `share-recipient-token:${recipientId}`;
}

@Injectable()
export class ShareRecipientsService {
  constructor(
    private readonly shares: ShareRepository,
    private readonly recipients: ShareRecipientRepository,
    private readonly db: DbContext,
    private readonly access: ShareAccessService,
    private readonly stats: ShareStatsService,
    private readonly clock: ShareClock,
    private readonly box: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(ownerId: string, shareId: string, dto: CreateRecipientDto): Promise<RecipientView> {
    return (await this.createMany(ownerId, shareId, [dto]))[0];
  }

  /** Adds every one or none (one flush): a refusal of one line leaves the share as it was. */
  async createMany(ownerId: string, shareId: string, dtos: CreateRecipientDto[]): Promise<RecipientView[]> {
    const share = await this.owned(ownerId, shareId);
    if (share.revokedAt) {
      throw new ConflictException({
        message: 'This link is disabled: it can no longer get recipients. Create a new link to share again.',
        reason: 'revoked',
      });
    }
    if (dtos.length === 0)
      throw new BadRequestException({ field: 'recipients', message: 'name at least one recipient' });
    if (dtos.length > MAX_RECIPIENTS_PER_REQUEST) {
      throw new BadRequestException({
        field: 'recipients',
        message: `add at most ${MAX_RECIPIENTS_PER_REQUEST} recipients at once`,
      });
    }
    const existing = await this.recipients.count({ share: share.id });
    if (existing + dtos.length > MAX_RECIPIENTS_PER_SHARE) {
      throw new BadRequestException({
        field: 'recipients',
        message: `a share has at most ${MAX_RECIPIENTS_PER_SHARE} recipients (${existing} already)`,
      });
    }
    const now = this.clock.now();
    // A millisecond apart, so they list in the order they were written.
    const made = dtos.map((dto, index) => {
      const token = newShareToken();
      const recipient = this.recipients.create({
        share,
        name: dto.name,
        email: dto.email ?? null,
        note: dto.note ?? null,
        tokenHash: shareTokenHash(token),
        tokenSealed: '',
        expiresAt: dto.expiry ? expiresAtFor(dto.expiry, now) : null,
        createdAt: new Date(now.getTime() + index),
      });
      recipient.tokenSealed = this.box.seal(token, recipientTokenAad(recipient.id));
      return recipient;
    });
    await this.db.flush();
    return this.views(made);
  }

  /** The lines of the share page's box, each checked as the API checks a body; errors name the line. */
  parseLines(text: string, expiry?: string): { dtos: CreateRecipientDto[]; errors: string[] } {
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    const dtos: CreateRecipientDto[] = [];
    const errors: string[] = [];
    lines.forEach((line, i) => {
      const dto = plainToInstance(CreateRecipientDto, {
        ...parseRecipientLine(line),
        ...(expiry === undefined ? {} : { expiry }),
      });
      const problems = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
      if (problems.length)
        errors.push(`line ${i + 1} (“${line.slice(0, 80)}”): ${Object.values(problems[0].constraints ?? {})[0]}`);
      else dtos.push(dto);
    });
    if (lines.length === 0) errors.push('write one recipient per line, as “Name <email>” or just a name');
    return { dtos, errors };
  }

  async list(ownerId: string, shareId: string): Promise<RecipientView[]> {
    const share = await this.owned(ownerId, shareId);
    return this.views(await this.recipients.find({ share: share.id }, { orderBy: { createdAt: 'asc', id: 'asc' } }));
  }

  /** Their link answers 410 at once; the share and the other recipients' links go on. */
  async revoke(ownerId: string, shareId: string, recipientId: string): Promise<RecipientView> {
    const share = await this.owned(ownerId, shareId);
    const recipient = await this.recipients.findOne({ id: recipientId, share: share.id });
    if (!recipient) throw new NotFoundException('recipient not found');
    recipient.revokedAt ??= this.clock.now();
    await this.db.flush();
    await this.access.publishRecipient(recipient);
    return (await this.views([recipient]))[0];
  }

  /** Someone else's share is indistinguishable from a missing one. */
  private async owned(ownerId: string, shareId: string): Promise<Share> {
    const share = await this.shares.findOne({ id: shareId, owner: ownerId });
    if (!share) throw new NotFoundException('share not found');
    return share;
  }

  private async views(recipients: ShareRecipient[]): Promise<RecipientView[]> {
    const pending = await this.stats.pendingRecipients(recipients.map((r) => r.id));
    const now = this.clock.now();
    return recipients.map((r) => {
      const path = `/s/${this.box.open(r.tokenSealed, recipientTokenAad(r.id))}`;
      return {
        id: r.id,
        name: r.name,
        email: r.email ?? null,
        note: r.note ?? null,
        url: `${this.config.http.publicUrl}${path}`,
        path,
        status: linkStatus(r, now),
        expiresAt: r.expiresAt?.toISOString() ?? null,
        revokedAt: r.revokedAt?.toISOString() ?? null,
        createdAt: r.createdAt.toISOString(),
        stats: linkStats(r, pending.get(r.id)),
      };
    });
  }
}
