import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { MetricsService } from './metrics.service';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why a caller may not read the figures, or null. With METRICS_TOKEN set: `Authorization: Bearer <token>`.
 * Without it: only callers on this machine, and not through a proxy (a forwarded request could come from anywhere).
 */
function refusal(req: Request, token: string | undefined): { status: number; message: string } | null {
  if (token) {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return match && sameSecret(match[1], token) ? null : { status: 401, message: 'a valid METRICS_TOKEN bearer token is required' };
  }
  const local = LOOPBACK.has(req.socket.remoteAddress ?? '') && !req.headers['x-forwarded-for'] && !req.headers.forwarded;
  return local ? null : { status: 403, message: 'metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere' };
}

/**
 * `GET /metrics` (Prometheus text format). Mounted as plain middleware ahead of Nest's routes because its
 * bearer token is not a personal access token (the global AuthGuard would refuse it).
 */
export function mountMetrics(app: NestExpressApplication): void {
  const metrics = app.get(MetricsService);
  app.use('/metrics', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const refused = refusal(req, metrics.token);
    if (refused) {
      if (refused.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(refused.status).type('text/plain').send(`${refused.message}\n`);
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.status(200).setHeader('Content-Type', contentType).end(body),
      () => res.status(503).setHeader('Retry-After', '5').type('text/plain').send('metrics are temporarily unavailable\n'),
    );
  });
}
