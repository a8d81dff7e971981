import { Logger } from '@nestjs/common';

const QUIET_MS = 30_000;

/**
 * Reports the connection errors of a BullMQ queue, worker or flow producer as one warning per 30 s. While Redis is
 * away each of them retries every couple of seconds, and BullMQ prints the stack trace of every failure to stderr
 * when nobody listens; the readiness probe (/health/ready) is what tells an operator that Redis is down.
 */
export function reportConnectionErrors(
  emitter: { on(event: 'error', listener: (err: Error) => void): unknown },
  name: string,
): void {
  const logger = new Logger('Queues');
  let lastReport = 0;
  emitter.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastReport < QUIET_MS) return;
    lastReport = now;
    logger.warn(`${name}: ${err.message} (retrying; repeats are not logged for 30 s)`);
  });
}
