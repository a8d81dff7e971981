import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { MetricsService } from './metrics.service';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why a caller of the main port may not read the figures, or null. With METRICS_TOKEN set: `Authorization: Bearer
 * <token>`. Without it, in production: nobody — a reverse proxy on the same host connects from loopback and adds no
 * X-Forwarded-For by default (nginx), so "loopback" would let the whole internet in. Outside production: callers on
 * this machine, not through a proxy that says so.
 */
function refusal(req: Request, config: AppConfig): { status: number; message: string } | null {
  const { token, port } = config.metrics;
  if (token) {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return match && sameSecret(match[1], token)
      ? null
      : { status: 401, message: 'a valid METRICS_TOKEN bearer token is required' };
  }
  if (config.env === 'production' || port !== undefined) {
    return {
      status: 403,
      message:
        port !== undefined
          ? `metrics are served on 127.0.0.1:${port}`
          : 'set METRICS_TOKEN (a bearer token) or METRICS_PORT (a loopback-only port) to read metrics',
    };
  }
  const local =
    LOOPBACK.has(req.socket.remoteAddress ?? '') && !req.headers['x-forwarded-for'] && !req.headers.forwarded;
  return local
    ? null
    : { status: 403, message: 'metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere' };
}

function send(metrics: MetricsService, res: ServerResponse): void {
  metrics.render().then(
    ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
    () =>
      res
        .writeHead(503, { 'Retry-After': '5', 'Content-Type': 'text/plain' })
        .end('metrics are temporarily unavailable\n'),
  );
}

/**
 * `GET /metrics` (Prometheus text format). Mounted as plain middleware ahead of Nest's routes because its
 * bearer token is not a personal access token (the global AuthGuard would refuse it). With METRICS_PORT, also a
 * listener of its own on 127.0.0.1 that serves nothing else, closed with the app.
 */
export function mountMetrics(app: NestExpressApplication): void {
  const metrics = app.get(MetricsService);
  const config = app.get<AppConfig>(APP_CONFIG);
  app.use('/metrics', (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const refused = refusal(req, config);
    if (refused) {
      if (refused.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(refused.status).type('text/plain').send(`${refused.message}\n`);
      return;
    }
    send(metrics, res);
  });
  if (config.metrics.port !== undefined) serveMetricsOnLoopback(app, metrics, config.metrics.port);
}

function serveMetricsOnLoopback(app: NestExpressApplication, metrics: MetricsService, port: number): void {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD'))
      return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    send(metrics, res);
  });
  server.on('error', (err) => {
    process.stderr.write(`METRICS_PORT ${port}: ${err.message}\n`);
  });
  server.listen(port, '127.0.0.1');
  // Nest closes the main server on shutdown; this one goes with it.
  app.getHttpServer().once('close', () => {
    server.close();
    server.closeAllConnections();
  });
}
