import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthenticatedUser } from '../authenticated-user';
import { CsrfService } from './csrf';

type ViewRequest = Request & { user?: AuthenticatedUser };

/** A property of `locals` computed on first read and kept; assigning it replaces it with the value given. */
function lazy(locals: Record<string, unknown>, name: string, compute: () => unknown): void {
  Object.defineProperty(locals, name, {
    configurable: true,
    enumerable: true,
    get() {
      const value = compute();
      Object.defineProperty(locals, name, { value, writable: true, configurable: true, enumerable: true });
      return value;
    },
    set(value: unknown) {
      Object.defineProperty(locals, name, { value, writable: true, configurable: true, enumerable: true });
    },
  });
}

/**
 * What every rendered page needs besides its own view model — the signed-in user for the navigation, a CSRF token
 * for its forms, its path, a one-time flash message — as `res.locals` computed when a template first reads them:
 * after the guards have identified the user, for every page and error page alike, and not at all for answers that
 * render nothing (JSON, redirects, the share page's cached bytes). A global interceptor did this before; Nest then
 * runs every handler through RxJS, which cost the share page about 8% of its throughput (`npm run bench`).
 */
export function viewLocals(csrf: CsrfService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const locals = res.locals as Record<string, unknown>;
    lazy(locals, 'currentUser', () => {
      const user = (req as ViewRequest).user;
      return user ? { name: user.name, email: user.email, isAdmin: user.role === 'admin' } : null;
    });
    lazy(locals, 'csrfToken', () => csrf.tokenFor(req, res));
    lazy(locals, 'path', () => req.path);
    lazy(locals, 'flash', () => {
      const flash = req.session?.flash;
      if (flash) delete req.session.flash;
      return flash;
    });
    next();
  };
}
