import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { safeRedirectPath } from '../../common/http/safe-redirect';
import { validateForm } from '../../common/http/validation';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { Public } from './decorators';
import { SignInDto } from './dto/account.dto';
import { SessionsService } from './sessions.service';
import { UsersService } from './users.service';

type AuthRequest = Request & { user?: AuthenticatedUser };

/** Deliberately the same for an unknown email, a wrong password and a disabled account. */
export const SIGN_IN_FAILED = 'Email or password is incorrect.';

@ApiExcludeController()
@Controller()
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `next` as a path on this server, judged against PUBLIC_URL (where the browser resolves it). */
  private nextPath(next: unknown, fallback = '/'): string {
    return safeRedirectPath(next, fallback, this.config.http.publicUrl);
  }

  @Public()
  @Get('login')
  async loginPage(@Req() req: AuthRequest, @Res() res: Response, @Query('next') next?: string): Promise<void> {
    if (req.user) return res.redirect(303, this.nextPath(next));
    if ((await this.users.count()) === 0) return res.redirect(303, '/setup');
    this.renderLogin(res, 200, { next: this.nextPath(next, '') });
  }

  @Public()
  @Throttle({ default: { limit: 10, ttl: 60_000 } })
  @Post('login')
  async login(@Req() req: AuthRequest, @Res() res: Response, @Body() body: unknown): Promise<void> {
    const form = validateForm(SignInDto, body);
    const email = typeof (body as { email?: unknown })?.email === 'string' ? (body as { email: string }).email : '';
    if (form.errors) {
      return this.renderLogin(res, 400, { email, error: SIGN_IN_FAILED });
    }
    const user = await this.users.verifyCredentials(form.value.email, form.value.password);
    if (!user) {
      return this.renderLogin(res, 401, { email, error: SIGN_IN_FAILED, next: form.value.next });
    }
    await this.sessions.signIn(req, user.id);
    res.redirect(303, this.nextPath(form.value.next));
  }

  @Post('logout')
  @HttpCode(303)
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.signOut(req);
    res.redirect(303, '/login');
  }

  private renderLogin(res: Response, status: number, model: Record<string, unknown>): void {
    res.status(status).render('accounts/login', { title: 'Sign in', bare: true, ...model });
  }
}
