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

/** Share links (`/s/…`) run without a session: see CsrfService. */
function isShareLink(req: Request): boolean {
  return req.path.startsWith('/s/');
}

/** Someone signed in: their forms' tokens are bound to their session. Everyone else's are not (see CsrfService). */
function isSignedIn(req: Request): boolean {
  return Boolean(req.session?.userId);
}

/**
 * Double-submit CSRF tokens (csrf-csrf): for signed-in producers bound to the session id. Forms carry `_csrf`; scripts send
 * `X-CSRF-Token`. Runs as a guard, after authentication, so a refusal goes through the exception filter
 * (a clean 403 page or JSON) and callers using a personal access token — no ambient cookie — are exempt.
 *
 * Share links have no session (recipients have no account), so their one form, the password form, uses signed
 * double-submit tokens with a cookie of their own, scoped to `/s/`: sharing the dashboard's cookie would rebind it
 * whenever a signed-in producer opens a locked link, and the forms open in their other tabs would fail.
 *
 * Visitors who are not signed in (the sign-in and setup forms, error pages) get the same signed double-submit
 * cookie, path `/`, instead of a session kept only to hold a token: a session lived 14 days in Redis, so every
 * anonymous page view — 404s included — stored one. Sign-in regenerates the session and binds later tokens to it.
 */
@Injectable()
export class CsrfService {
  private readonly dashboard: ReturnType<typeof doubleCsrf>;
  private readonly shareLinks: ReturnType<typeof doubleCsrf>;
  private readonly anonymous: ReturnType<typeof doubleCsrf>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const common = {
      getSecret: () => config.session.secret,
      getCsrfTokenFromRequest: (req: Request) =>
        (req.body as Record<string, unknown> | undefined)?._csrf?.toString() ??
        req.headers['x-csrf-token'] ??
        multipartQueryToken(req),
    };
    this.dashboard = doubleCsrf({
      ...common,
      getSessionIdentifier: (req) => req.sessionID ?? '',
      // The __Host- prefix requires Secure; plain-HTTP installs (the demo) use a plain name.
      cookieName: config.http.secureCookies ? '__Host-pd.csrf' : 'pd.csrf',
      cookieOptions: { sameSite: 'lax', path: '/', secure: config.http.secureCookies, httpOnly: true },
    });
    this.shareLinks = doubleCsrf({
      ...common,
      getSessionIdentifier: () => 'share-link',
      cookieName: 'pd.share-csrf',
      cookieOptions: { sameSite: 'lax', path: '/s/', secure: config.http.secureCookies, httpOnly: true },
    });
    this.anonymous = doubleCsrf({
      ...common,
      getSessionIdentifier: () => 'signed-out',
      cookieName: config.http.secureCookies ? '__Host-pd.csrf-visitor' : 'pd.csrf-visitor',
      cookieOptions: { sameSite: 'lax', path: '/', secure: config.http.secureCookies, httpOnly: true },
    });
  }

  private forRequest(req: Request): ReturnType<typeof doubleCsrf> {
    if (isShareLink(req)) return this.shareLinks;
    return isSignedIn(req) ? this.dashboard : this.anonymous;
  }

  /** A token for a page's forms; nothing is stored on the server for it. */
  tokenFor(req: Request, res: Response): string {
    return this.forRequest(req).generateCsrfToken(req, res, { overwrite: false, validateOnReuse: false });
  }

  isValid(req: Request): boolean {
    return this.forRequest(req).validateRequest(req);
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
