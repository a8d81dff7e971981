import { Body, Controller, Get, NotFoundException, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { errorsByField, validateForm } from '../../common/http/validation';
import { Public } from './decorators';
import { NewAccountDto } from './dto/account.dto';
import { SessionsService } from './sessions.service';
import { UsersService } from './users.service';

/** First run: creates the studio's admin while no user exists, then disappears (404). */
@ApiExcludeController()
@Public()
@Controller('setup')
export class SetupController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  @Get()
  async page(@Res() res: Response): Promise<void> {
    if ((await this.users.count()) > 0) throw new NotFoundException('setup is already done');
    this.render(res, 200, {});
  }

  @Throttle({ default: { limit: 10, ttl: 60_000 } })
  @Post()
  async submit(@Req() req: Request, @Res() res: Response, @Body() body: unknown): Promise<void> {
    if ((await this.users.count()) > 0) throw new NotFoundException('setup is already done');
    const form = validateForm(NewAccountDto, body);
    if (form.errors) {
      const { name, email } = (body ?? {}) as Record<string, unknown>;
      return this.render(res, 400, { name, email, errors: errorsByField(form.errors) });
    }
    const admin = await this.users.createFirstAdmin(form.value);
    if (!admin) throw new NotFoundException('setup is already done');
    await this.sessions.signIn(req, admin.id);
    req.session.flash = { kind: 'success', message: 'Welcome! Your studio is ready. Connect Dropbox to begin.' };
    res.redirect(303, '/settings');
  }

  private render(res: Response, status: number, model: Record<string, unknown>): void {
    res.status(status).render('accounts/setup', { title: 'Set up your studio', bare: true, ...model });
  }
}
