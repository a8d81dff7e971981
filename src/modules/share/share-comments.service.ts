import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import { UsersService } from '../accounts/users.service';
import { TrackCatalog } from '../files/track-catalog.service';
import { NotificationEvents } from '../notifications/notification-events';
import { COMMENT_NAME_MAX_CHARS, PostCommentDto } from './dto/comment.dto';
import type { Share } from './entities/share.entity';
import { ShareComment } from './entities/share-comment.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRepository } from './repositories/share.repository';
import type { ShareAccess } from './share-access.service';
import { DbContext } from '../../database/db-context';
import { ShareClock } from './share-clock';
import { ShareTuning } from './share-tuning';
import { isUuid } from '../../common/ids';

/**
 * Who is commenting, as the link they use tells it. On a per-recipient link the recipient is known (id and name,
 * and the form asks for no name); on the share's own link `recipient` is null and the visitor is recognised again
 * by a cookie of theirs (its hash is stored, never the cookie).
 */
export interface CommentAuthorContext {
  recipient: { recipientId: string; name: string } | null;
  visitorHash: string | null;
}

/** A comment as shown: to visitors (no recipient or visitor identity) and to the producer (with the recipient). */
export interface CommentView {
  id: string;
  fileId: string;
  fileName: string | null;
  at: number;
  body: string;
  name: string;
  fromOwner: boolean;
  /** Set when written on a recipient's own link (only in the producer's views). */
  recipientId?: string | null;
  /** The visitor's own comment (only in visitors' views). */
  mine?: boolean;
  resolved: boolean;
  createdAt: string;
  replies: CommentView[];
}

export function visitorHashOf(cookie: string): string {
  return createHash('sha256').update(`share-visitor\0${cookie}`).digest('hex');
}

/** Comments at a time of a share's files: recipients post, the producer reads, replies and resolves. */
@Injectable()
export class ShareCommentsService {
  constructor(
    @InjectRepository(ShareComment) private readonly comments: EntityRepository<ShareComment>,
    private readonly shares: ShareRepository,
    private readonly shareFiles: ShareFileRepository,
    private readonly db: DbContext,
    private readonly catalog: TrackCatalog,
    private readonly users: UsersService,
    private readonly clock: ShareClock,
    private readonly events: NotificationEvents,
    private readonly redis: RedisService,
    private readonly tuning: ShareTuning,
  ) {}

  /**
   * A recipient's comment. Refused (nothing stored): comments off (403), a file that is not on this share (400
   * naming `fileId`, whichever share it may be on), a time past the file's end, no name on the share's own link.
   */
  async post(access: ShareAccess, dto: PostCommentDto, author: CommentAuthorContext): Promise<CommentView> {
    if (!access.comments) throw new ForbiddenException('Comments are not open on this share.');
    const name = author.recipient?.name.slice(0, COMMENT_NAME_MAX_CHARS) ?? dto.name ?? '';
    if (!name) throw fieldError('name', 'name is required: say who you are');
    const item = await this.shareFiles.findOne({ share: access.id, file: dto.fileId }, { populate: ['file'] });
    if (!item) throw fieldError('fileId', 'fileId is not a file of this share');
    const file = item.file;
    // A little slack: a player's reported duration and the analysed one differ by a frame or two.
    if (file.durationSeconds && dto.at > file.durationSeconds + 1)
      throw fieldError('at', `at must be within the file (it lasts ${Math.round(file.durationSeconds)} s)`);
    await this.countForShare(access.id);
    const comment = this.comments.create({
      shareId: access.id,
      fileId: file.id,
      atSeconds: Math.round(dto.at * 10) / 10,
      body: dto.body,
      authorName: name,
      recipientId: author.recipient?.recipientId ?? null,
      visitorHash: author.recipient ? null : author.visitorHash,
      createdAt: this.clock.now(),
    });
    await this.db.flush();
    await this.events.publish(access.ownerId, 'comment.created', {
      shareId: access.id,
      title: access.title,
      commentId: comment.id,
      fileId: file.id,
      file: file.name,
      at: comment.atSeconds,
      name,
      body: comment.body,
      ...(comment.recipientId ? { recipientId: comment.recipientId } : {}),
    });
    return { ...view(comment, file.name, []), mine: true };
  }

  /** The share's hourly ceiling (the per-address limit is the route's throttle); past it, 429 and nothing stored. */
  private async countForShare(shareId: string): Promise<void> {
    const key = this.redis.key('share', 'comments-hour', shareId);
    const [[, n], , [, ttl]] = (await this.redis.client
      .multi()
      .incr(key)
      .pexpire(key, 3_600_000, 'NX')
      .pttl(key)
      .exec()) as [[null, number], [null, number], [null, number]];
    if (n > this.tuning.commentsPerSharePerHour) {
      throw new HttpException(
        {
          message: 'This share has taken all the comments it can for now. Please try again later.',
          retryAfterSeconds: Math.ceil(Math.max(ttl, 1000) / 1000),
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  /**
   * What a visitor sees: their own comments (by recipient on a recipient link, else by their cookie) with the
   * producer's replies, or every comment when the share shows them to everyone. The producer's replies only ever
   * hang under a comment.
   */
  async visible(access: ShareAccess, viewer: CommentAuthorContext): Promise<CommentView[]> {
    if (!access.comments) return [];
    const mine = (c: ShareComment) =>
      viewer.recipient
        ? c.recipientId === viewer.recipient.recipientId
        : viewer.visitorHash !== null && c.recipientId === null && c.visitorHash === viewer.visitorHash;
    let tops: ShareComment[];
    if (access.commentsPublic) {
      tops = await this.comments.find(
        { shareId: access.id, parentId: null },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
    } else if (viewer.recipient) {
      tops = await this.comments.find(
        { shareId: access.id, parentId: null, recipientId: viewer.recipient.recipientId },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
    } else if (viewer.visitorHash) {
      tops = await this.comments.find(
        { shareId: access.id, parentId: null, recipientId: null, visitorHash: viewer.visitorHash },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );
    } else {
      return [];
    }
    const views = await this.withReplies(tops);
    return views.map((v, i) => ({ ...stripIdentity(v), mine: mine(tops[i]) }));
  }

  /** Every comment of the producer's share with its replies, oldest first (404 for another producer's share). */
  async forOwner(ownerId: string, shareId: string): Promise<CommentView[]> {
    await this.ownedShare(ownerId, shareId);
    const tops = await this.comments.find({ shareId, parentId: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return this.withReplies(tops);
  }

  async reply(ownerId: string, shareId: string, commentId: string, body: string): Promise<CommentView> {
    const share = await this.ownedShare(ownerId, shareId);
    const parent = await this.ownedComment(shareId, commentId);
    const owner = await this.users.findByIdOrFail(ownerId);
    const reply = this.comments.create({
      shareId: share.id,
      fileId: parent.fileId,
      parentId: parent.id,
      atSeconds: parent.atSeconds,
      body,
      authorName: owner.name.slice(0, COMMENT_NAME_MAX_CHARS),
      fromOwner: true,
      createdAt: this.clock.now(),
    });
    await this.db.flush();
    return view(reply, null, []);
  }

  async resolve(ownerId: string, shareId: string, commentId: string, resolved: boolean): Promise<CommentView> {
    await this.ownedShare(ownerId, shareId);
    const comment = await this.ownedComment(shareId, commentId);
    comment.resolvedAt = resolved ? (comment.resolvedAt ?? this.clock.now()) : null;
    await this.db.flush();
    return (await this.withReplies([comment]))[0];
  }

  private async ownedShare(ownerId: string, shareId: string): Promise<Pick<Share, 'id'>> {
    const share = await this.shares.findOne({ id: shareId, owner: ownerId }, { fields: ['id'] });
    if (!share) throw new NotFoundException('share not found');
    return share;
  }

  /** A top-level comment of this share (replies are answered through their comment). */
  private async ownedComment(shareId: string, commentId: string): Promise<ShareComment> {
    const comment = isUuid(commentId) ? await this.comments.findOne({ id: commentId, shareId }) : null;
    if (!comment) throw new NotFoundException('comment not found');
    if (comment.parentId) return this.comments.findOneOrFail({ id: comment.parentId, shareId });
    return comment;
  }

  private async withReplies(tops: ShareComment[]): Promise<CommentView[]> {
    if (tops.length === 0) return [];
    const replies = await this.comments.find(
      { parentId: { $in: tops.map((c) => c.id) } },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    const names = await this.catalog.fileNames(tops.map((c) => c.fileId));
    return tops.map((c) =>
      view(
        c,
        names.get(c.fileId) ?? null,
        replies.filter((r) => r.parentId === c.id).map((r) => view(r, null, [])),
      ),
    );
  }
}

function view(c: ShareComment, fileName: string | null, replies: CommentView[]): CommentView {
  return {
    id: c.id,
    fileId: c.fileId,
    fileName,
    at: c.atSeconds,
    body: c.body,
    name: c.authorName,
    fromOwner: c.fromOwner,
    recipientId: c.recipientId,
    resolved: c.resolvedAt !== null,
    createdAt: c.createdAt.toISOString(),
    replies,
  };
}

/** Visitors never see who a comment's recipient is, only the name written with it. */
function stripIdentity(v: CommentView): CommentView {
  const { recipientId, ...rest } = v;
  void recipientId;
  return { ...rest, replies: v.replies.map(stripIdentity) };
}

function fieldError(field: string, message: string): BadRequestException {
  return new BadRequestException({ message, field, errors: [{ field, message }] });
}
