import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Request, Response } from 'express';
import { HttpExceptionFilter } from '../../common/http/http-exception.filter';
import { wantsJson } from '../../common/http/wants-json';
import { ShareRequest } from './share-access.guard';
import { ShareLockedException } from './share-access.service';

const TITLES: Record<number, string> = {
  400: 'That did not work',
  403: 'Not available for download',
  404: 'Not found',
  410: 'Link no longer active',
  429: 'Too many requests',
  502: 'Dropbox did not answer',
  503: 'Temporarily unavailable',
};

/**
 * Recipients' errors in the share layout (no dashboard navigation, noindex), with the message that matters to
 * them: expired, disabled, not found, password needed. Anything unexpected goes to the app's own filter.
 */
@Catch()
export class SharePublicFilter implements ExceptionFilter {
  private readonly fallback = new HttpExceptionFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    res.setHeader('X-Robots-Tag', 'noindex, nofollow');
    res.setHeader('Cache-Control', 'private, no-store');
    const token = String(req.params?.token ?? '');

    if (exception instanceof ShareLockedException) {
      // The page itself answers with the form; a file route asked without the cookie is refused.
      const onPage = req.path.replace(/\/+$/, '') === `/s/${token}`;
      if (wantsJson(req)) {
        res
          .status(HttpStatus.FORBIDDEN)
          .json({ statusCode: 403, error: 'Forbidden', message: 'This share is password-protected.' });
        return;
      }
      res.status(onPage ? HttpStatus.OK : HttpStatus.FORBIDDEN).render('share/password', {
        layout: 'share/layout',
        title: 'Password required',
        action: `/s/${token}`,
      });
      return;
    }

    let status: number;
    let message: string;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const body = exception.getResponse();
      message = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? exception.message);
      const retryAfter = (body as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
      else if (status === HttpStatus.TOO_MANY_REQUESTS)
        message = 'Too many requests from your connection. Please wait a minute and try again.';
    } else if (exception instanceof Error && typeof (exception as { httpStatus?: unknown }).httpStatus === 'number') {
      status = (exception as unknown as { httpStatus: number }).httpStatus;
      if (status < 500) status = HttpStatus.BAD_GATEWAY;
      message = 'Dropbox is busy or unreachable right now. Please try again in a minute.';
      if (status === 503) res.setHeader('Retry-After', '30');
    } else {
      this.fallback.catch(exception, host);
      return;
    }

    if (wantsJson(req)) {
      res.status(status).json({ statusCode: status, error: HttpStatus[status] ?? 'Error', message });
      return;
    }
    const reason =
      exception instanceof HttpException ? (exception.getResponse() as { reason?: unknown }).reason : undefined;
    res.status(status).render('share/error', {
      layout: 'share/layout',
      title: status === HttpStatus.GONE ? message : (TITLES[status] ?? 'Error'),
      heading: status === HttpStatus.GONE ? message : (TITLES[status] ?? 'Something went wrong'),
      message: status === HttpStatus.GONE ? 'Ask the person who sent it for a new link.' : message,
      status,
      // Back to the playlist when the link itself is fine (a file route failed).
      backUrl: (req as ShareRequest).share && req.path.replace(/\/+$/, '') !== `/s/${token}` ? `/s/${token}` : null,
      // An expired link's page offers to ask its producer for more time (a disabled one does not).
      askForMoreTime:
        status === HttpStatus.GONE && reason === 'expired' && token ? { action: `/s/${token}/more-time` } : null,
    });
  }
}
