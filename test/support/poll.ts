export interface PollOptions {
  /** Named in the error when the outcome never comes. */
  what?: string;
  /** Give up after this long (the spec waits for an outcome, this only bounds a broken one). Default 30 s. */
  timeoutMs?: number;
  /** Pause between reads. Default 100 ms. */
  everyMs?: number;
  /** A read that throws counts as "not yet" (a server being restarted) instead of failing the wait. */
  errorsAreNotYet?: boolean;
}

/**
 * The one polling helper of the suite: reads until `ok` holds and returns that value, so a spec waits for an
 * outcome, never for a moment. Fails with the last value seen (or error) once `timeoutMs` has passed.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  options: number | PollOptions = {},
): Promise<T> {
  const {
    what = 'condition',
    timeoutMs = 30_000,
    everyMs = 100,
    errorsAreNotYet = false,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
      last = value;
    } catch (err) {
      if (!errorsAreNotYet) throw err;
      last = err instanceof Error ? `${err.name}: ${err.message}` : err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 800)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
