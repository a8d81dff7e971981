import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { errorsByField, validateForm } from '../../common/http/validation';
import { ApiTokensService } from './api-tokens.service';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from './decorators';
import { CreateTokenDto } from './dto/account.dto';
import { SettingsSections } from './settings-sections';

@ApiExcludeController()
@Controller('settings')
export class SettingsController {
  constructor(
    private readonly tokens: ApiTokensService,
    private readonly sections: SettingsSections,
  ) {}

  private async model(user: AuthenticatedUser, extra: Record<string, unknown> = {}) {
    return {
      title: 'Settings',
      nav: 'settings',
      user,
      tokens: await this.tokens.list(user.id),
      ...(await this.sections.model(user.id)),
      ...extra,
    };
  }

  @Get()
  @Render('dashboard/settings')
  page(@CurrentUser() user: AuthenticatedUser) {
    return this.model(user);
  }

  @Post('tokens')
  async createToken(
    @CurrentUser() user: AuthenticatedUser,
    @Res() res: Response,
    @Body() body: unknown,
  ): Promise<void> {
    const form = validateForm(CreateTokenDto, body);
    if (form.errors) {
      return res
        .status(400)
        .render('dashboard/settings', await this.model(user, { tokenErrors: errorsByField(form.errors) }));
    }
    const { secret, token } = await this.tokens.create(user.id, form.value.name, {
      scope: form.value.scope ?? 'read',
      expiresInDays: form.value.expiresInDays,
    });
    // Shown once, on the very next page, then gone.
    res.status(201).render('dashboard/settings', await this.model(user, { newToken: { name: token.name, secret } }));
  }

  @Post('tokens/:id/revoke')
  async revokeToken(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.tokens.revoke(user.id, id);
    req.session.flash = { kind: 'success', message: 'Token revoked.' };
    res.redirect(303, '/settings#tokens');
  }
}
