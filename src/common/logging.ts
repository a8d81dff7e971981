import { RequestMethod } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Query parameters that carry credentials: the OAuth callback's code and state, multipart forms' CSRF token. */
const SECRET_QUERY = /([?&](?:code|state|_csrf)=)[^&#]*/gi;

/** Share tokens sit in paths; logs keep only their first characters. Credentials in the query string go. */
export function loggableUrl(url: string): string {
  return url.replace(/^(\/s\/[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+/, '$1…').replace(SECRET_QUERY, '$1[redacted]');
}

/**
 * Routes that pino-http leaves alone: the recipients' playlist page, the hottest route by far. pino-http builds a
 * child logger and a request id for every request, even when nothing is written, which cost the page about a sixth
 * of its throughput (`npm run bench -- share-page`); `leanRequestLog` writes the same completion line instead.
 */
export const LEAN_LOGGED_ROUTES = [{ path: 's/:token', method: RequestMethod.GET }];
const LEAN_LOGGED_PATH = /^\/s\/[^/]+\/?$/;

/**
 * The completion line of pino-http ("request completed", with req.method, req.url, res.statusCode and
 * responseTime) for LEAN_LOGGED_ROUTES, written by the root logger only when its level lets it through.
 */
export function leanRequestLog(logger: () => Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const log = logger();
    // GET and HEAD, as LEAN_LOGGED_ROUTES: Nest's exclusion of a GET route covers HEAD too (GET handlers serve it).
    if (
      (req.method === 'GET' || req.method === 'HEAD') &&
      LEAN_LOGGED_PATH.test(req.path) &&
      log.isLevelEnabled('info')
    ) {
      const started = performance.now();
      res.once('finish', () => {
        // The same serializers as pino-http's lines (the url shortened, headers redacted) apply to req and res.
        const line = {
          req: { method: req.method, url: req.originalUrl },
          res,
          responseTime: Math.round(performance.now() - started),
        };
        if (res.statusCode >= 500) log.error(line, 'request errored');
        else log.info(line, 'request completed');
      });
    }
    next();
  };
}

/**
 * JSON logs with a request id per request (taken from X-Request-Id when a proxy set a sane one), readable
 * colours for the demo. Credentials never reach the log: cookies, Authorization and token-bearing fields
 * are redacted.
 */
export function loggerParams(config: AppConfig): Params {
  return {
    exclude: LEAN_LOGGED_ROUTES,
    pinoHttp: {
      level: config.log.level,
      transport: config.log.pretty
        ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname,req.headers,res.headers' } }
        : undefined,
      genReqId: (req: IncomingMessage, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'req.headers["x-csrf-token"]',
          'res.headers["set-cookie"]',
          // At the top of a log object and one level down (pino's wildcards match exactly one level).
          ...['access_token', 'refresh_token', 'accessToken', 'refreshToken', 'password', '_csrf', 'csrfToken'].flatMap(
            (key) => [key, `*.${key}`],
          ),
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: loggableUrl(req.url),
        }),
      },
      autoLogging: {
        ignore: (req: IncomingMessage) =>
          req.url?.startsWith('/health') === true || req.url?.startsWith('/static/') === true,
      },
    },
  };
}
