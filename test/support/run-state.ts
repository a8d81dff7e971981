import type { DatabaseKeeper } from './database-keeper';

/** What global setup hands to global teardown; both run in Jest's parent process, so a global carries it. */
export interface TestRun {
  runId: string;
  adminUrl?: string;
  redisUrl?: string;
  tempDir?: string;
  /** Makes clones ahead and drops those specs are done with while the run goes on (see database-keeper.ts). */
  keeper?: DatabaseKeeper;
  stops: Array<() => Promise<void>>;
}

const KEY = '__pdTestRun';
type WithRun = typeof globalThis & { [KEY]?: TestRun };

export function saveTestRun(run: TestRun): void {
  (globalThis as WithRun)[KEY] = run;
}

export function loadTestRun(): TestRun | undefined {
  return (globalThis as WithRun)[KEY];
}
