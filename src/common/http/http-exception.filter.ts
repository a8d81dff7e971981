import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  Optional,
} from '@nestjs/common';
import { ConnectionException } from '@mikro-orm/core';
import type { Request, Response } from 'express';
import { NotFoundLimiter } from './not-found-limiter';
import { wantsJson } from './wants-json';

export interface FieldError {
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'That did not work',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Too large',
  507: 'Not enough space',
  429: 'Slow down',
  503: 'Temporarily unavailable',
};

function describe(exception: HttpException): { message: string; errors?: FieldError[] } {
  const body = exception.getResponse();
  if (typeof body === 'string') return { message: body };
  const record = body as { message?: unknown; errors?: FieldError[]; field?: string };
  const message = Array.isArray(record.message)
    ? record.message.join('; ')
    : String(record.message ?? exception.message);
  if (record.errors) return { message, errors: record.errors };
  if (record.field) return { message, errors: [{ field: record.field, message }] };
  return { message };
}

/**
 * Every error leaves as a clean answer: JSON `{statusCode, error, message, errors?}` for the API, an error
 * page for browsers, a redirect to sign in for pages that need it. Never a stack trace; unexpected errors are
 * logged with the request id and answered with a generic 500.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  /** Absent where the filter is used as another filter's fallback (those routes have their own limits). */
  constructor(@Optional() @Inject(NotFoundLimiter) private readonly notFound?: NotFoundLimiter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 0;
    const req = host.switchToHttp().getRequest<Request>();
    // Only paths no route matched: matched routes have their own throttles.
    if (status !== HttpStatus.NOT_FOUND || !this.notFound || !isUnmatchedPath(exception as HttpException, req))
      return this.answer(exception, host);
    const res = host.switchToHttp().getResponse<Response>();
    // Counting needs Redis; if it is away, the 404 still goes out.
    this.notFound.hit(req).then(
      (waitSeconds) => {
        if (waitSeconds === null || res.headersSent) return this.answer(exception, host);
        res.setHeader('Retry-After', String(waitSeconds));
        this.answer(
          new HttpException(
            'Too many requests for pages that do not exist. Please wait a minute.',
            HttpStatus.TOO_MANY_REQUESTS,
          ),
          host,
        );
      },
      () => this.answer(exception, host),
    );
  }

  private answer(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }

    let status: number;
    let message: string;
    let errors: FieldError[] | undefined;
    let retryAfter: string | undefined;
    if (exception instanceof HttpException && isHealthReport(exception.getResponse())) {
      // Terminus reports which dependency is down; probes and operators need that detail.
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      ({ message, errors } = describe(exception));
      if (status === HttpStatus.TOO_MANY_REQUESTS) retryAfter = res.getHeader('Retry-After')?.toString();
    } else if (isPublicError(exception)) {
      // Domain errors that carry their own status and a message written for the user (e.g. Dropbox's).
      status = exception.httpStatus;
      message = exception.message;
      if (status === 503) {
        retryAfter = String(Math.ceil((exception.retryAfterMs ?? 5000) / 1000));
        res.setHeader('Retry-After', retryAfter);
      }
    } else if (isDependencyOutage(exception)) {
      status = HttpStatus.SERVICE_UNAVAILABLE;
      message = 'The server is temporarily unavailable. Please try again in a few seconds.';
      retryAfter = '5';
      res.setHeader('Retry-After', retryAfter);
      this.logger.warn({ err: exception, reqId: (req as { id?: unknown }).id }, 'dependency unavailable');
    } else if (isBodyParserError(exception)) {
      status = exception.status;
      message = exception.status === 413 ? 'request body is too large' : 'request body is malformed';
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      message = 'Something went wrong on our side. It has been logged.';
      this.logger.error({ err: exception, reqId: (req as { id?: unknown }).id }, 'unhandled error');
    }

    if (wantsJson(req)) {
      res.status(status).json({ statusCode: status, error: HttpStatus[status] ?? 'Error', message, errors });
      return;
    }
    if (status === HttpStatus.UNAUTHORIZED && req.method === 'GET') {
      res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    res.status(status).render('errors/error', {
      title: TITLES[status] ?? 'Error',
      status,
      message,
      errors,
      retryAfter,
      layout: 'layouts/main',
    });
  }
}

interface PublicError extends Error {
  httpStatus: number;
  retryAfterMs?: number;
}

function isPublicError(err: unknown): err is PublicError {
  return err instanceof Error && typeof (err as { httpStatus?: unknown }).httpStatus === 'number';
}

/**
 * PostgreSQL's SQLSTATEs for a server that is unreachable, shutting down or starting up rather than a bad query:
 * class 08 (connection exception) and 57P01–57P03 (admin/crash shutdown, "the database system is starting up" or
 * "shutting down"). MikroORM turns these into a plain DriverException that keeps the code.
 */
const PG_UNAVAILABLE = /^(08|57P0[1-3])/;

/** Redis or PostgreSQL unreachable: a temporary condition, not a bug. */
function isDependencyOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof ConnectionException) return true;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && PG_UNAVAILABLE.test(code)) return true;
  // node-postgres when the server closes a pooled connection under a query (no SQLSTATE then); knex puts the SQL
  // in front: "select … - Connection terminated unexpectedly".
  if (/(?:^|\s-\s)Connection (?:terminated|ended)/.test(err.message)) return true;
  return err.message === 'Connection is closed.' || code === 'ECONNREFUSED' || code === 'ECONNRESET';
}

/**
 * Nest's own answer for a path no controller matched: its not-found handler throws `Cannot <METHOD> <url>` (it is
 * mounted as a catch-all, so `req.route` is set there too and can't tell).
 */
function isUnmatchedPath(exception: HttpException, req: Request): boolean {
  return exception.message.startsWith(`Cannot ${req.method} `);
}

function isHealthReport(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'details' in body && 'status' in body;
}

function isBodyParserError(err: unknown): err is { status: number; type: string } {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { status?: unknown }).status === 'number' &&
    typeof (err as { type?: unknown }).type === 'string'
  );
}
