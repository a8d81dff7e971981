/**
 * Bounds a graceful stop. On SIGTERM or SIGINT Nest's shutdown hooks close the HTTP server and the BullMQ workers,
 * and a worker's close waits for its running jobs — a 2 GiB upload, a Dropbox call that is slow to answer — and,
 * while Redis is unreachable, can wait forever. After `graceMs` the process exits anyway: what it leaves running
 * are idempotent job steps whose lock runs out, and another worker (or this one, restarted) takes them up again.
 */
export function exitAfterGrace(graceMs: number, report: (message: string) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        report(
          `shutdown did not finish within ${graceMs / 1000} s (SHUTDOWN_GRACE_SECONDS); exiting now: ` +
            'jobs still running are taken up again once their lock runs out (JOB_LOCK_SECONDS)',
        );
        process.exit(1);
      }, graceMs).unref();
    });
  }
}
