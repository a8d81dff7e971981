import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpException,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Response } from 'express';
import { validateForm } from '../../common/http/validation';
import { Public } from '../accounts/decorators';
import { AskForMoreTimeDto } from './dto/comment.dto';
import { ShareAccessService } from './share-access.service';
import { ExtendLink, ShareExpiryService } from './share-expiry.service';
import { commentPostLimit } from './share-limits';
import { SharePublicFilter } from './share-public.filter';
import { isUuid } from '../../common/ids';

const MINUTE = 60_000;

/**
 * "Ask for more time" from an expired link's page. Not behind ShareAccessGuard, which answers 410 for an expired
 * link: this is the one route such a link still has. Guarded by the share links' CSRF cookie and rate-limited.
 */
@ApiExcludeController()
@Public()
@UseFilters(SharePublicFilter)
@Controller('s/:token/more-time')
export class ShareMoreTimeController {
  constructor(
    private readonly access: ShareAccessService,
    private readonly expiry: ShareExpiryService,
  ) {}

  @Post()
  @Throttle({ default: { limit: commentPostLimit, ttl: MINUTE } })
  async ask(@Param('token') token: string, @Body() body: unknown, @Res() res: Response): Promise<void> {
    const { access } = await this.access.load(token, false);
    const form = validateForm(AskForMoreTimeDto, body);
    if (form.errors)
      throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    await this.expiry.askForMoreTime(access, form.value);
    res.setHeader('X-Robots-Tag', 'noindex, nofollow');
    res.status(201).render('share/error', {
      layout: 'share/layout',
      title: 'Request sent',
      heading: 'Your request is sent',
      message:
        'The person who shared this link has been told you would like more time. If they extend it, the same link opens again.',
    });
  }
}

/**
 * The producer's one-click "extend by 7 days" from the email. The signed link is the credential (no sign-in
 * needed); opening it shows what it will do, and the button does it: mail scanners that open every link in a
 * message must not use it up.
 */
@ApiExcludeController()
@Public()
@Controller('shares/:id/extend')
export class ShareExtendController {
  constructor(private readonly expiry: ShareExpiryService) {}

  @Get()
  async confirm(@Param('id') id: string, @Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const link = linkOf(id, query);
    try {
      const { share, request } = await this.expiry.check(link);
      res.render('dashboard/extend', {
        title: `Extend “${share.title}”`,
        share: { title: share.title, expiresAt: share.expiresAt?.toISOString() ?? null },
        request: { name: request.name, message: request.message },
        action: `/shares/${encodeURIComponent(id)}/extend`,
        fields: [
          { name: 'request', value: link.requestId },
          { name: 'expires', value: String(link.expires) },
          { name: 'sig', value: link.sig },
        ],
      });
    } catch (err) {
      this.refused(err, res);
    }
  }

  @Post()
  @Throttle({ default: { limit: commentPostLimit, ttl: MINUTE } })
  async extend(@Param('id') id: string, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    try {
      const share = await this.expiry.extend(linkOf(id, body));
      res.status(200).render('dashboard/extend', {
        title: 'Link extended',
        done: true,
        share: { id: share.id, title: share.title, expiresAt: share.expiresAt?.toISOString() ?? null },
      });
    } catch (err) {
      this.refused(err, res);
    }
  }

  private refused(err: unknown, res: Response): void {
    if (!(err instanceof HttpException) || err.getStatus() >= 500) throw err;
    const body = err.getResponse() as { message?: string } | string;
    res.status(err.getStatus()).render('dashboard/extend', {
      title: 'Not extended',
      error: typeof body === 'string' ? body : (body.message ?? 'This extend link does not work.'),
    });
  }
}

function linkOf(id: string, fields: Record<string, unknown>): ExtendLink {
  const expires = Number(fields.expires);
  return {
    shareId: isUuid(id) ? id : '00000000-0000-0000-0000-000000000000',
    requestId: typeof fields.request === 'string' ? fields.request : '',
    expires: Number.isFinite(expires) ? expires : 0,
    sig: typeof fields.sig === 'string' ? fields.sig : '',
  };
}
