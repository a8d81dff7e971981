import { Controller, Get, Param, ParseUUIDPipe, Post, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RequireRole } from '../accounts/decorators';
import { SharesService } from './shares.service';

/** Admins see every producer's share links and can revoke any of them (a leaked link, a departed producer). */
@ApiExcludeController()
@RequireRole('admin')
@Controller('admin/shares')
export class AdminSharesController {
  constructor(private readonly shares: SharesService) {}

  @Get()
  @Render('admin/shares')
  async page() {
    return { title: 'Share links', nav: 'admin', shares: await this.shares.listAll() };
  }

  @Post(':id/revoke')
  async revoke(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const share = await this.shares.revokeAny(id);
    req.session.flash = { kind: 'success', message: `“${share.title}” is disabled: its link answers 410.` };
    res.redirect(303, '/admin/shares');
  }
}
