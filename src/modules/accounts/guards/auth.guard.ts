import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiTokensService } from '../api-tokens.service';
import type { AuthenticatedUser } from '../../../common/authenticated-user';
import { IS_PUBLIC, REQUIRED_ROLE } from '../decorators';
import type { User, UserRole } from '../entities/user.entity';
import { UsersService } from '../users.service';

type AuthRequest = Request & { user?: AuthenticatedUser };

function toAuthenticated(
  user: User,
  via: AuthenticatedUser['via'],
  scope: AuthenticatedUser['scope'] = 'full',
): AuthenticatedUser {
  return { id: user.id, email: user.email, name: user.name, role: user.role, via, scope };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one gate of every route: a personal access token (`Authorization: Bearer …`) or the session cookie.
 * Unauthenticated callers get 401; the exception filter turns that into a redirect to sign in for pages.
 * Public routes still learn who is signed in, so pages can adapt.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
    private readonly tokens: ApiTokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthRequest>();
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);

    req.user = (await this.resolve(req)) ?? undefined;
    if (isPublic) return true;
    if (!req.user) throw new UnauthorizedException('sign in required');
    if (req.user.scope === 'read' && !READS.has(req.method))
      throw new ForbiddenException('this access token is read-only');

    const role = this.reflector.getAllAndOverride<UserRole | undefined>(REQUIRED_ROLE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (role && req.user.role !== role) throw new ForbiddenException(`this needs the ${role} role`);
    return true;
  }

  private async resolve(req: AuthRequest): Promise<AuthenticatedUser | null> {
    const header = req.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw new UnauthorizedException('Authorization must be "Bearer <token>"');
      const holder = await this.tokens.authenticate(match[1]);
      if (!holder) throw new UnauthorizedException('invalid, expired or revoked access token');
      return toAuthenticated(holder.user, 'token', holder.scope);
    }
    const userId = req.session?.userId;
    if (!userId) return null;
    const user = await this.users.findActiveById(userId);
    return user ? toAuthenticated(user, 'session') : null;
  }
}
