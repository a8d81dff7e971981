/** What the emulator has seen since start or the last reset. */
export interface CountersSnapshot {
  /** API calls per route (`files/upload`…), whatever their outcome. */
  callsByRoute: Record<string, number>;
  /** API calls per account id (calls that authenticated). */
  callsByAccount: Record<string, number>;
  /** 429 responses sent, injected ones included. */
  rateLimited: number;
  /** The most write calls of one account seen in flight at the same time. */
  maxConcurrentWritesByAccount: Record<string, number>;
  /** Request body bytes received (API calls, OAuth and the sink). */
  bytesReceived: number;
}

/** One API call as the emulator answered it (for checks such as "no call before its Retry-After"). */
export interface CallRecord {
  route: string;
  /** The calling account, when the call authenticated. */
  accountId?: string;
  write: boolean;
  status: number;
  /** Epoch milliseconds: when the request arrived and when the answer was sent. */
  startedAt: number;
  endedAt: number;
  /** The Retry-After of a 429, in milliseconds. */
  retryAfterMs?: number;
}

/** The call log keeps the most recent calls only, so a long-running emulator (the demo) stays small. */
export const CALL_LOG_LIMIT = 50_000;

export class Counters {
  private snapshotData: CountersSnapshot = emptyCounters();
  private calls: CallRecord[] = [];
  /** Write calls in flight per account: not a counter to reset, it tracks live requests. */
  private readonly writesInFlight = new Map<string, number>();

  snapshot(): CountersSnapshot {
    return structuredClone(this.snapshotData);
  }

  reset(): void {
    this.snapshotData = emptyCounters();
    this.calls = [];
  }

  /** The API calls since start or the last reset, oldest first (at most {@link CALL_LOG_LIMIT}). */
  callLog(): CallRecord[] {
    return this.calls.map((record) => ({ ...record }));
  }

  logCall(record: CallRecord): void {
    this.calls.push(record);
    if (this.calls.length > CALL_LOG_LIMIT) this.calls.splice(0, this.calls.length - CALL_LOG_LIMIT);
  }

  call(route: string): void {
    increment(this.snapshotData.callsByRoute, route);
  }

  /** The call authenticated as this account. */
  callBy(accountId: string): void {
    increment(this.snapshotData.callsByAccount, accountId);
  }

  responded(status: number): void {
    if (status === 429) this.snapshotData.rateLimited++;
  }

  received(bytes: number): void {
    this.snapshotData.bytesReceived += bytes;
  }

  /** Registers a write call starting; returns how many of this account's writes are now in flight. */
  writeStarted(accountId: string): number {
    const inFlight = (this.writesInFlight.get(accountId) ?? 0) + 1;
    this.writesInFlight.set(accountId, inFlight);
    const max = this.snapshotData.maxConcurrentWritesByAccount;
    max[accountId] = Math.max(max[accountId] ?? 0, inFlight);
    return inFlight;
  }

  writeEnded(accountId: string): void {
    const inFlight = (this.writesInFlight.get(accountId) ?? 1) - 1;
    if (inFlight > 0) this.writesInFlight.set(accountId, inFlight);
    else this.writesInFlight.delete(accountId);
  }
}

function emptyCounters(): CountersSnapshot {
  return { callsByRoute: {}, callsByAccount: {}, rateLimited: 0, maxConcurrentWritesByAccount: {}, bytesReceived: 0 };
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
