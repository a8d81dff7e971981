import { Body, Controller, Delete, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { isConfirmed, renderConfirmation } from '../../common/http/confirm';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { DropboxError } from './dropbox.errors';
import { ConnectFailed, DropboxConnectionsService } from './dropbox-connections.service';

const SETTINGS = '/settings#dropbox';

@ApiTags('dropbox')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller()
export class DropboxSettingsController {
  constructor(private readonly connections: DropboxConnectionsService) {}

  /** Starts the OAuth code flow (PKCE, offline access); the state and verifier stay in the session. */
  @ApiExcludeEndpoint()
  @Post('settings/dropbox/connect')
  async connect(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (!this.connections.configured) {
      req.session.flash = {
        kind: 'error',
        message: 'Dropbox is not configured on this server: set DROPBOX_APP_KEY (see README).',
      };
      return res.redirect(303, SETTINGS);
    }
    const { url, pending } = this.connections.startAuthorization();
    req.session.dropboxAuthorization = pending;
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    res.redirect(303, url);
  }

  @ApiExcludeEndpoint()
  @Get('settings/dropbox/callback')
  async callback(
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: Request,
    @Res() res: Response,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    const pending = req.session.dropboxAuthorization;
    // One use only, whatever happens next.
    delete req.session.dropboxAuthorization;
    const str = (v: unknown) => (typeof v === 'string' && v.length <= 4096 ? v : undefined);
    try {
      const view = await this.connections.completeAuthorization(user.id, pending, {
        code: str(query.code),
        state: str(query.state),
        error: str(query.error),
        errorDescription: str(query.error_description),
      });
      req.session.flash = { kind: 'success', message: `Dropbox connected: ${view.displayName} (${view.email}).` };
    } catch (err) {
      if (err instanceof ConnectFailed) req.session.flash = { kind: 'error', message: err.message };
      else if (err instanceof DropboxError) {
        req.session.flash = {
          kind: 'error',
          message: `Dropbox could not be reached to finish connecting (${err.message}). Please try again.`,
        };
      } else throw err;
    }
    res.redirect(303, SETTINGS);
  }

  @ApiExcludeEndpoint()
  @Post('settings/dropbox/disconnect')
  async disconnectForm(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (!isConfirmed(body)) {
      return renderConfirmation(res, {
        heading: 'Disconnect Dropbox?',
        message:
          'The server forgets your Dropbox connection and revokes its access. Share links stop serving files (their pages say downloads are paused), uploads and collaboration wait, until you connect again.',
        caveat: 'Your files in Dropbox are untouched. Connecting the same account again brings everything back.',
        action: '/settings/dropbox/disconnect',
        confirmLabel: 'Disconnect',
        cancelUrl: SETTINGS,
        nav: 'settings',
      });
    }
    const removed = await this.connections.disconnect(user.id);
    req.session.flash = removed
      ? { kind: 'success', message: 'Dropbox disconnected. Your files in Dropbox are untouched.' }
      : { kind: 'error', message: 'Dropbox was not connected.' };
    res.redirect(303, SETTINGS);
  }

  @ApiExcludeEndpoint()
  @Post('settings/dropbox/recheck')
  async recheckForm(@CurrentUser() user: AuthenticatedUser, @Req() req: Request, @Res() res: Response): Promise<void> {
    try {
      const view = await this.connections.recheckEmail(user.id);
      req.session.flash = view.emailUnverified
        ? {
            kind: 'error',
            message:
              'Dropbox still says your email address is not verified. Open the email Dropbox sent you (or resend it from dropbox.com), then re-check.',
          }
        : {
            kind: 'success',
            message:
              'Your Dropbox email address is verified: share links play and download again, and sharing with collaborators works.',
          };
    } catch (err) {
      if (!(err instanceof DropboxError)) throw err;
      req.session.flash = { kind: 'error', message: `Could not ask Dropbox: ${err.message}` };
    }
    res.redirect(303, SETTINGS);
  }

  @ApiOperation({ summary: 'Ask Dropbox again whether the account email is verified (after verifying it at Dropbox)' })
  @Post('api/v1/dropbox/recheck')
  @HttpCode(200)
  recheck(@CurrentUser() user: AuthenticatedUser) {
    return this.connections.recheckEmail(user.id);
  }

  @ApiOperation({ summary: 'The Dropbox connection of the signed-in producer and its health' })
  @Get('api/v1/dropbox')
  status(@CurrentUser() user: AuthenticatedUser) {
    return this.connections.status(user.id);
  }

  @ApiOperation({ summary: 'Revoke and forget the Dropbox connection (files in Dropbox are untouched)' })
  @Delete('api/v1/dropbox')
  @HttpCode(204)
  async disconnect(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    await this.connections.disconnect(user.id);
  }
}
