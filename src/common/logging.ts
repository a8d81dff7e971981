import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * JSON logs with a request id per request (taken from X-Request-Id when a proxy set a sane one), readable
 * colours for the demo. Credentials never reach the log: cookies, Authorization and token-bearing fields
 * are redacted.
 */
export function loggerParams(config: AppConfig): Params {
  return {
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
          '*.access_token',
          '*.refresh_token',
          '*.accessToken',
          '*.refreshToken',
          '*.password',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          // Share tokens sit in paths; keep only their first characters in logs.
          url: req.url.replace(/^(\/s\/[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+/, '$1…'),
        }),
      },
      autoLogging: { ignore: (req: IncomingMessage) => req.url?.startsWith('/health') === true || req.url?.startsWith('/static/') === true },
    },
  };
}
