import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ShareTuning } from './share-tuning';

const DEFAULTS = new ShareTuning();

/**
 * @Throttle limits are resolved per request from the app's ShareTuning (published on the Express app's locals by
 * ShareModule), so the benchmark can lift them for its load run without a second build of the routes.
 */
function tuningOf(context: ExecutionContext): ShareTuning {
  const req = context.switchToHttp().getRequest<Request>();
  return (req.app?.locals?.shareTuning as ShareTuning | undefined) ?? DEFAULTS;
}

export const pageViewLimit = (context: ExecutionContext) => tuningOf(context).pageViewsPerMinute;
export const fileRequestLimit = (context: ExecutionContext) => tuningOf(context).fileRequestsPerMinute;
export const listenBeaconLimit = (context: ExecutionContext) => tuningOf(context).listenBeaconsPerMinute;
export const commentPostLimit = (context: ExecutionContext) => tuningOf(context).commentsPerMinute;
export const unlockAttemptLimit = (context: ExecutionContext) => tuningOf(context).unlockAttemptsPer5Min;

/** Password attempts count per client address and share: guessing one share's password doesn't lock others. */
export const perShareTracker = (req: Record<string, unknown>) => {
  const r = req as unknown as Request;
  return `${r.ip ?? ''}|${String(r.params?.token ?? '')}`;
};
