import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthenticatedUser } from '../../common/authenticated-user';
import type { UserRole } from './entities/user.entity';

export const IS_PUBLIC = 'accounts:public';
export const REQUIRED_ROLE = 'accounts:role';

/** The route needs no signed-in user (sign-in page, share links, health). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The route needs this role; producers calling an admin route get 403. */
export const RequireRole = (role: UserRole) => SetMetadata(REQUIRED_ROLE, role);

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthenticatedUser => {
  const req = ctx.switchToHttp().getRequest<Request & { user?: AuthenticatedUser }>();
  if (!req.user) throw new Error('CurrentUser used on a route without authentication');
  return req.user;
});
