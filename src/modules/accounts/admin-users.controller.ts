import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { errorsByField, validateForm } from '../../common/http/validation';
import { AccountsService } from './accounts.service';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser, RequireRole } from './decorators';
import { CreateUserDto } from './dto/account.dto';

@ApiExcludeController()
@RequireRole('admin')
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly accounts: AccountsService) {}

  @Get()
  @Render('admin/users')
  async page() {
    return { title: 'People', nav: 'admin', users: await this.accounts.listUsers() };
  }

  @Post()
  async create(@Req() req: Request, @Res() res: Response, @Body() body: unknown): Promise<void> {
    const form = validateForm(CreateUserDto, body);
    const errors = form.errors ? errorsByField(form.errors) : await this.tryCreate(form.value!);
    if (errors) {
      const { name, email, role } = (body ?? {}) as Record<string, unknown>;
      return res.status(400).render('admin/users', {
        title: 'People',
        nav: 'admin',
        users: await this.accounts.listUsers(),
        form: { name, email, role },
        errors,
      });
    }
    req.session.flash = { kind: 'success', message: `Account created for ${form.value!.email}.` };
    res.redirect(303, '/admin/users');
  }

  @Post(':id/disable')
  async disable(
    @CurrentUser() actor: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const user = await this.accounts.setDisabled(actor.id, id, true);
    req.session.flash = { kind: 'success', message: `${user.email} is disabled and signed out everywhere.` };
    res.redirect(303, '/admin/users');
  }

  @Post(':id/enable')
  async enable(
    @CurrentUser() actor: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const user = await this.accounts.setDisabled(actor.id, id, false);
    req.session.flash = { kind: 'success', message: `${user.email} can sign in again.` };
    res.redirect(303, '/admin/users');
  }

  private async tryCreate(dto: CreateUserDto): Promise<Record<string, string> | null> {
    try {
      await this.accounts.createUser(dto);
      return null;
    } catch (err) {
      const body = (err as { getResponse?: () => unknown }).getResponse?.() as { field?: string; message?: string };
      if (body?.field) return { [body.field]: body.message ?? 'is invalid' };
      throw err;
    }
  }
}
