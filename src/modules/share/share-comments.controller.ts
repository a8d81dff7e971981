import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { validateForm } from '../../common/http/validation';
import { wantsJson } from '../../common/http/wants-json';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Public } from '../accounts/decorators';
import { PostCommentDto } from './dto/comment.dto';
import { CurrentShare, ShareAccessGuard, ShareRequest } from './share-access.guard';
import { CommentAuthorContext, ShareCommentsService, visitorHashOf } from './share-comments.service';
import { commentPostLimit, fileRequestLimit } from './share-limits';
import { SharePublicFilter } from './share-public.filter';
import { SharePageService } from './share-page.service';

type LoadedShare = NonNullable<ShareRequest['share']>;

const MINUTE = 60_000;
const VISITOR_COOKIE = 'pd_visitor';
const VISITOR_COOKIE_MAX_AGE_MS = 365 * 24 * 3600_000;

/**
 * The one place where a per-recipient link tells comments who its recipient is (the access guard resolved the
 * link). On the share's own link there is none (null), and the visitor gives a name.
 */
export function recipientOfLink(share: LoadedShare): CommentAuthorContext['recipient'] {
  const recipient = share.access.recipient;
  return recipient ? { recipientId: recipient.id, name: recipient.name } : null;
}

/**
 * Recipients' comments at a time of a file: posted from the playlist page's form (no JavaScript needed, the share's
 * CSRF cookie checked by the global guard), listed on a page of their own and as JSON for the waveform markers.
 */
@ApiExcludeController()
@Public()
@UseGuards(ShareAccessGuard)
@UseFilters(SharePublicFilter)
@Controller('s/:token/comments')
export class ShareCommentsController {
  constructor(
    private readonly comments: ShareCommentsService,
    private readonly pages: SharePageService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(201)
  @Throttle({ default: { limit: commentPostLimit, ttl: MINUTE } })
  async post(
    @CurrentShare() share: LoadedShare,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const form = validateForm(PostCommentDto, body);
    if (form.errors)
      throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    const recipient = recipientOfLink(share);
    const visitorHash = recipient ? null : this.visitor(share, req, res, true);
    const comment = await this.comments.post(share.access, form.value, { recipient, visitorHash });
    if (wantsJson(req)) {
      res.status(201).json(comment);
      return;
    }
    res.redirect(303, `/s/${share.access.token}/comments?posted=1#comment-${comment.id}`);
  }

  /** The visitor's comments (or everyone's, when the share shows them all) with the producer's replies, and the form. */
  @Get()
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async page(
    @CurrentShare() share: LoadedShare,
    @Query('posted') posted: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { access } = share;
    const recipient = recipientOfLink(share);
    const items = await this.comments.visible(access, {
      recipient,
      visitorHash: recipient ? null : this.visitor(share, req, res, false),
    });
    res.setHeader('X-Robots-Tag', 'noindex, nofollow');
    res.setHeader('Cache-Control', 'private, no-store');
    res.render('share/comments', {
      layout: 'share/layout',
      title: `Comments · ${access.title}`,
      shareTitle: access.title,
      backUrl: `/s/${access.token}`,
      open: Boolean(access.comments),
      posted: posted === '1',
      items,
      form: access.comments
        ? {
            action: `/s/${access.token}/comments`,
            askName: recipient === null,
            files: await this.pages.commentableFiles(access),
          }
        : null,
    });
  }

  /** The same as JSON, for the page's script (markers on the waveforms). */
  @Get('list')
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async list(@CurrentShare() share: LoadedShare, @Req() req: Request, @Res() res: Response): Promise<void> {
    const recipient = recipientOfLink(share);
    const items = await this.comments.visible(share.access, {
      recipient,
      visitorHash: recipient ? null : this.visitor(share, req, res, false),
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ items });
  }

  /**
   * The visitor's cookie for this link: random, kept by their browser for the link's path only; what is stored with
   * their comments is its hash. Made when they first comment.
   */
  private visitor(share: LoadedShare, req: Request, res: Response, create: boolean): string | null {
    const presented = (req.cookies as Record<string, string> | undefined)?.[VISITOR_COOKIE];
    if (presented && /^[A-Za-z0-9_-]{22}$/.test(presented)) return visitorHashOf(presented);
    if (!create) return null;
    const value = randomBytes(16).toString('base64url');
    res.cookie(VISITOR_COOKIE, value, {
      path: `/s/${share.access.token}`,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.http.secureCookies,
      maxAge: VISITOR_COOKIE_MAX_AGE_MS,
    });
    return visitorHashOf(value);
  }
}
