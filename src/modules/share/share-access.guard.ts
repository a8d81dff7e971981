import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  GoneException,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { LoadedShareAccess, ShareAccessService } from './share-access.service';
import { ShareExpiryService } from './share-expiry.service';

const SHARE_ROUTE = 'share:route';

/** `page`: also fetch the cached page; `unlock`: the password form's target, open while locked. */
export type ShareRouteKind = 'page' | 'unlock' | 'file';
export const ShareRoute = (kind: ShareRouteKind) => SetMetadata(SHARE_ROUTE, kind);

export interface ShareRequest extends Request {
  share?: LoadedShareAccess;
}

/** Every `/s/:token…` route goes through this guard, so no route can forget a check. */
@Injectable()
export class ShareAccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: ShareAccessService,
    private readonly expiry: ShareExpiryService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ShareRequest>();
    const kind = this.reflector.get<ShareRouteKind | undefined>(SHARE_ROUTE, context.getHandler()) ?? 'file';
    const loaded = await this.access.load(String(req.params.token ?? ''), kind === 'page');
    try {
      this.access.assertOpen(loaded.access);
    } catch (err) {
      // The producer may want to know someone still opens a link that has expired (at most daily, never waited on).
      if (kind === 'page' && req.method === 'GET' && isExpired(err))
        void this.expiry.expiredVisit(loaded.access).catch(() => undefined);
      throw err;
    }
    if (kind !== 'unlock') this.access.assertUnlocked(loaded.access, req);
    req.share = loaded;
    return true;
  }
}

function isExpired(err: unknown): boolean {
  return err instanceof GoneException && (err.getResponse() as { reason?: unknown }).reason === 'expired';
}

export const CurrentShare = createParamDecorator((_data: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<ShareRequest>();
  if (!req.share) throw new Error('CurrentShare used on a route without ShareAccessGuard');
  return req.share;
});
