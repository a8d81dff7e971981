import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { wantsJson } from '../common/http/wants-json';
import { DbContext } from '../database/db-context';
import { UsersService } from '../modules/accounts/users.service';
import { ALL_QUEUES } from '../queues/queues';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * The board's page (admins only) uses inline styles; the rest of the site keeps the strict policy. Scripts, styles
 * and fonts stay same-origin only (its Google Fonts link is taken out of the page: see withoutThirdPartyAssets).
 */
const BOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function refuse(req: Request, res: Response, status: 401 | 403): void {
  if (status === 401 && req.method === 'GET' && !wantsJson(req)) {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  const message = status === 401 ? 'sign in as an admin to see the job queues' : 'the job queues are for admins only';
  if (wantsJson(req) || req.path.startsWith('/api/')) res.status(status).json({ statusCode: status, message });
  else res.status(status).type('text/plain').send(`${message}\n`);
}

/** A state-changing call must come from our own pages (SameSite cookies already stop most cross-site posts). */
function sameOrigin(req: Request): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Admins only: Bull Board is Express middleware, outside Nest's guards, so it checks the session itself.
 * Anonymous visitors are sent to sign in (401 for scripts), producers get 403.
 */
function adminsOnly(app: NestExpressApplication): RequestHandler {
  const users = app.get(UsersService);
  const db = app.get(DbContext);
  return (req: Request, res: Response, next: NextFunction) => {
    const userId = req.session?.userId;
    if (!userId) return refuse(req, res, 401);
    db.run(() => users.findActiveById(userId)).then(
      (user) => {
        if (!user) return refuse(req, res, 401);
        if (user.role !== 'admin') return refuse(req, res, 403);
        if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) return refuse(req, res, 403);
        res.setHeader('Content-Security-Policy', BOARD_CSP);
        withoutThirdPartyAssets(res, next);
        next();
      },
      () => res.status(503).setHeader('Retry-After', '5').type('text/plain').send('temporarily unavailable\n'),
    );
  };
}

/** A `<link>` to another host (the board links IBM Plex from fonts.googleapis.com). */
const THIRD_PARTY_LINK = /<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>/gi;

/**
 * Bull Board renders its page from its own template, which loads IBM Plex from Google Fonts: every admin's visit
 * would tell Google. The rendered page goes out without links to other hosts (the board falls back to the system
 * sans-serif); CSP refuses any that remain.
 */
function withoutThirdPartyAssets(res: Response, next: NextFunction): void {
  const render = res.render as (
    this: Response,
    view: string,
    options: object,
    done: (err: Error | null, html: string) => void,
  ) => void;
  res.render = function (this: Response, view: string, options?: object) {
    render.call(this, view, options ?? {}, (err: Error | null, html: string) =>
      err ? next(err) : this.send(html.replace(THIRD_PARTY_LINK, '')),
    );
  } as Response['render'];
}

/** Bull Board at /admin/queues: every queue of the server, for admins. */
export function mountBullBoard(app: NestExpressApplication): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: ALL_QUEUES.map((name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name), { strict: false }))),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Producer Dashboard' } },
  });
  app.use(BULL_BOARD_PATH, adminsOnly(app), serverAdapter.getRouter());
}
