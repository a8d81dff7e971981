import {
  BadRequestException,
  Body,
  Controller,
  HttpException,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { validateForm } from '../../common/http/validation';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CreateWebhookDto, EmailSettingsDto } from './dto/webhook.dto';
import { EmailDigestService } from './email-digest.service';
import { EMAIL_EVENTS } from './notification-types';
import { WebhooksService } from './webhooks.service';

/** The Settings page's forms for notifications; each answers with the page again (a redirect and a message). */
@ApiExcludeController()
@Controller('settings')
export class NotificationsSettingsController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly email: EmailDigestService,
  ) {}

  @Post('webhooks')
  async create(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const form = validateForm(CreateWebhookDto, body);
    if (form.errors) {
      req.session.flash = { kind: 'error', message: form.errors.map((e) => e.message).join('; ') };
      return res.redirect(303, '/settings#webhooks');
    }
    try {
      const created = await this.webhooks.create(user.id, form.value);
      // The secret is shown once, on the very next page.
      req.session.flash = {
        kind: 'success',
        message: `Webhook added. Its signing secret, shown only now: ${created.secret}`,
      };
    } catch (err) {
      if (!(err instanceof BadRequestException)) throw err;
      req.session.flash = { kind: 'error', message: messageOf(err) };
    }
    res.redirect(303, '/settings#webhooks');
  }

  @Post('webhooks/:id/delete')
  async remove(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.webhooks.remove(user.id, id);
    req.session.flash = { kind: 'success', message: 'Webhook removed.' };
    res.redirect(303, '/settings#webhooks');
  }

  @Post('notifications')
  async emailSettings(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const form = validateForm(EmailSettingsDto, body);
    if (form.errors) throw new BadRequestException({ message: form.errors[0].message, errors: form.errors });
    await this.email.setEmailOff(
      user.id,
      EMAIL_EVENTS.filter((t) => !form.value.email.includes(t)),
    );
    req.session.flash = { kind: 'success', message: 'Email notifications saved.' };
    res.redirect(303, '/settings#notifications');
  }
}

function messageOf(err: HttpException): string {
  const response = err.getResponse() as { errors?: Array<{ message: string }>; message?: string };
  return response.errors?.map((e) => e.message).join('; ') ?? String(response.message ?? err.message);
}
