import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { LoadedShareAccess, ShareAccessService } from './share-access.service';

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
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ShareRequest>();
    const kind = this.reflector.get<ShareRouteKind | undefined>(SHARE_ROUTE, context.getHandler()) ?? 'file';
    const loaded = await this.access.load(String(req.params.token ?? ''), kind === 'page');
    this.access.assertOpen(loaded.access);
    if (kind !== 'unlock') this.access.assertUnlocked(loaded.access, req);
    req.share = loaded;
    return true;
  }
}

export const CurrentShare = createParamDecorator((_data: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<ShareRequest>();
  if (!req.share) throw new Error('CurrentShare used on a route without ShareAccessGuard');
  return req.share;
});
