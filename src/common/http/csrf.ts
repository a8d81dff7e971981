import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { doubleCsrf } from 'csrf-csrf';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

type CsrfRequest = Request & { user?: { via: 'session' | 'token' } };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Plain multipart forms (uploads, artwork) are read by their handler, after the guards, so their `_csrf` field
 * comes too late: such forms carry the token in the action URL instead. Only for multipart bodies.
 */
function multipartQueryToken(req: Request): string | undefined {
  if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data')) return undefined;
  const token = (req.query as Record<string, unknown> | undefined)?._csrf;
  return typeof token === 'string' ? token : undefined;
}

/**
 * Double-submit CSRF tokens bound to the session id (csrf-csrf). Forms carry `_csrf`; scripts send
 * `X-CSRF-Token`. Runs as a guard, after authentication, so a refusal goes through the exception filter
 * (a clean 403 page or JSON) and callers using a personal access token — no ambient cookie — are exempt.
 */
@Injectable()
export class CsrfService {
  private readonly utils: ReturnType<typeof doubleCsrf>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.utils = doubleCsrf({
      getSecret: () => config.session.secret,
      getSessionIdentifier: (req) => req.sessionID ?? '',
      // The __Host- prefix requires Secure; plain-HTTP installs (the demo) use a plain name.
      cookieName: config.http.secureCookies ? '__Host-pd.csrf' : 'pd.csrf',
      cookieOptions: { sameSite: 'lax', path: '/', secure: config.http.secureCookies, httpOnly: true },
      getCsrfTokenFromRequest: (req) =>
        (req.body as Record<string, unknown> | undefined)?._csrf?.toString() ?? req.headers['x-csrf-token'] ?? multipartQueryToken(req),
    });
  }

  /** A token for a page's forms. Anonymous visitors get a kept session so the token stays valid on submit. */
  tokenFor(req: Request, res: Response): string {
    if (req.session && !req.session.userId && !req.session.visitor) req.session.visitor = true;
    return this.utils.generateCsrfToken(req, res, { overwrite: false, validateOnReuse: false });
  }

  isValid(req: Request): boolean {
    return this.utils.validateRequest(req);
  }
}

@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(private readonly csrf: CsrfService) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<CsrfRequest>();
    if (SAFE_METHODS.has(req.method)) return true;
    if (req.user?.via === 'token') return true;
    if (!this.csrf.isValid(req)) {
      throw new ForbiddenException('invalid or missing CSRF token: reload the page and try again');
    }
    return true;
  }
}
