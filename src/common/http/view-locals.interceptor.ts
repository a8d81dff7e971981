import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { RENDER_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import type { AuthenticatedUser } from '../../modules/accounts/authenticated-user';
import { CsrfService } from './csrf';

/**
 * What every rendered page needs besides its own view model: the signed-in user for the navigation,
 * a CSRF token for its forms, and a one-time flash message.
 */
@Injectable()
export class ViewLocalsInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly csrf: CsrfService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http' && this.reflector.get(RENDER_METADATA, context.getHandler())) {
      const req = context.switchToHttp().getRequest<Request & { user?: AuthenticatedUser }>();
      const res = context.switchToHttp().getResponse<Response>();
      populateViewLocals(req, res, this.csrf);
    }
    return next.handle();
  }
}

export function populateViewLocals(
  req: Request & { user?: AuthenticatedUser },
  res: Response,
  csrf: CsrfService,
): void {
  const user = req.user;
  res.locals.currentUser = user ? { name: user.name, email: user.email, isAdmin: user.role === 'admin' } : null;
  res.locals.csrfToken = csrf.tokenFor(req, res);
  res.locals.path = req.path;
  if (req.session?.flash) {
    res.locals.flash = req.session.flash;
    delete req.session.flash;
  }
}
