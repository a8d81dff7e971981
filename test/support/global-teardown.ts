import { rmSync } from 'node:fs';
import { deleteKeysStartingWith, dropDatabases, runRedisPrefix, TEST_DATABASE_PREFIX } from './leftovers';
import { loadTestRun, type TestRun } from './run-state';

/** Drops this run's template, clones and Redis keys a spec forgot, then stops the servers setup started. */
export default async function globalTeardown(): Promise<void> {
  const run = loadTestRun();
  if (run) await releaseTestRun(run);
}

export async function releaseTestRun(run: TestRun): Promise<void> {
  try {
    await run.keeper?.close();
    if (run.adminUrl) await dropDatabases(run.adminUrl, `${TEST_DATABASE_PREFIX}${run.runId}_`);
    if (run.redisUrl) await deleteKeysStartingWith(run.redisUrl, runRedisPrefix(run.runId));
  } finally {
    for (const stop of [...run.stops].reverse()) await stop();
    if (run.tempDir) rmSync(run.tempDir, { recursive: true, force: true });
  }
}
