import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';

/** Resident-set figures of a process, in bytes, from `/proc/<pid>/status` (Linux); undefined elsewhere. */
export function procStatus(pid: number | 'self' = 'self'): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    const rss = kib('VmRSS');
    const hwm = kib('VmHWM');
    return Number.isFinite(rss) && Number.isFinite(hwm) ? { rss, hwm } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resets the kernel's peak-RSS mark (VmHWM) of a process to its current RSS (`echo 5 > /proc/<pid>/clear_refs`),
 * so the next VmHWM read is the peak of what follows only. Returns false where that is not possible.
 */
export function resetPeakRss(pid: number | 'self' = 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`; undefined elsewhere. */
export function cpuSeconds(pid: number | 'self' = 'self'): number | undefined {
  if (pid === 'self') {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (1-based).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ on Linux
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

export interface MemoryPeaks {
  /** Highest RSS of this process: the larger of the 50 ms samples and the kernel's VmHWM (when available). */
  peakRss: number;
  /** Highest sampled RSS (the 50 ms polls alone). */
  sampledPeakRss: number;
  /** VmHWM after the reset at start, when the kernel offers it. */
  kernelPeakRss?: number;
  /** RSS when sampling started. */
  startRss: number;
  /** Highest sampled V8 heap in use, external memory and ArrayBuffer memory (Buffers live there). */
  peakHeapUsed: number;
  peakExternal: number;
  peakArrayBuffers: number;
  /** Highest sampled RSS of each watched child process (e.g. the emulator), by name. */
  children: Record<string, number>;
  samples: number;
}

/**
 * Polls memory every `intervalMs` while a measured phase runs. The kernel's own peak (VmHWM, reset at start) also
 * catches spikes between two polls.
 */
export class MemorySampler {
  private timer: NodeJS.Timeout | undefined;
  private peaks: MemoryPeaks;
  private kernelPeakAvailable = false;

  constructor(
    private readonly children: Record<string, number | undefined> = {},
    private readonly intervalMs = 50,
  ) {
    const rss = process.memoryUsage.rss();
    this.peaks = {
      peakRss: rss,
      sampledPeakRss: rss,
      startRss: rss,
      peakHeapUsed: 0,
      peakExternal: 0,
      peakArrayBuffers: 0,
      children: {},
      samples: 0,
    };
  }

  start(): this {
    this.kernelPeakAvailable = resetPeakRss('self');
    for (const pid of Object.values(this.children)) if (pid) resetPeakRss(pid);
    this.peaks.startRss = process.memoryUsage.rss();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): MemoryPeaks {
    clearInterval(this.timer);
    this.sample();
    if (this.kernelPeakAvailable) {
      const hwm = procStatus('self')?.hwm;
      if (hwm !== undefined) this.peaks.kernelPeakRss = hwm;
    }
    for (const [name, pid] of Object.entries(this.children)) {
      const hwm = pid ? procStatus(pid)?.hwm : undefined;
      if (hwm !== undefined) this.peaks.children[name] = Math.max(this.peaks.children[name] ?? 0, hwm);
    }
    this.peaks.peakRss = Math.max(this.peaks.sampledPeakRss, this.peaks.kernelPeakRss ?? 0);
    return { ...this.peaks, children: { ...this.peaks.children } };
  }

  private sample(): void {
    const usage = process.memoryUsage();
    const p = this.peaks;
    p.samples += 1;
    p.sampledPeakRss = Math.max(p.sampledPeakRss, usage.rss);
    p.peakHeapUsed = Math.max(p.peakHeapUsed, usage.heapUsed);
    p.peakExternal = Math.max(p.peakExternal, usage.external);
    p.peakArrayBuffers = Math.max(p.peakArrayBuffers, usage.arrayBuffers);
    for (const [name, pid] of Object.entries(this.children)) {
      const rss = pid ? procStatus(pid)?.rss : undefined;
      if (rss !== undefined) p.children[name] = Math.max(p.children[name] ?? 0, rss);
    }
  }
}

/** Garbage collections of this process during a phase: count and pause time per kind. */
export interface GcStats {
  count: number;
  ms: number;
  byKind: Record<string, { count: number; ms: number }>;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Counts GC pauses from the moment it is created until stop(). */
export class GcRecorder {
  private readonly stats: GcStats = { count: 0, ms: 0, byKind: {} };
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      const slot = (this.stats.byKind[kind] ??= { count: 0, ms: 0 });
      slot.count += 1;
      slot.ms += entry.duration;
      this.stats.count += 1;
      this.stats.ms += entry.duration;
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  async stop(): Promise<GcStats> {
    // GC entries are delivered asynchronously: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    this.observer.disconnect();
    const rounded = (n: number) => round(n, 1);
    return {
      count: this.stats.count,
      ms: rounded(this.stats.ms),
      byKind: Object.fromEntries(
        Object.entries(this.stats.byKind).map(([k, v]) => [k, { count: v.count, ms: rounded(v.ms) }]),
      ),
    };
  }
}

export interface Measured<T> {
  result: T;
  ms: number;
  memory: MemoryPeaks;
  /** CPU seconds used during the phase, by process (`bench` = this one). */
  cpu: Record<string, number>;
  gc: GcStats;
}

/** Records a V8 CPU profile of this process (open the file in Chrome DevTools or speedscope). */
export async function startCpuProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (err, result) => (err ? reject(err) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async (file: string) => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
  };
}

/**
 * Runs `work` while sampling memory and timing it; CPU seconds of this process and of the watched children too.
 * With `profileTo`, a CPU profile of the phase is written there.
 */
export async function measure<T>(
  work: () => Promise<T>,
  children: Record<string, number | undefined> = {},
  profileTo?: string,
): Promise<Measured<T>> {
  const stopProfile = profileTo ? await startCpuProfile() : undefined;
  const cpuBefore = cpuOf(children);
  const gcRecorder = new GcRecorder();
  const sampler = new MemorySampler(children).start();
  const started = process.hrtime.bigint();
  let result: T;
  let memory: MemoryPeaks;
  try {
    result = await work();
  } finally {
    // Stopped on failure too, so no interval is left behind.
    memory = sampler.stop();
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpuAfter = cpuOf(children);
  const gc = await gcRecorder.stop();
  if (stopProfile && profileTo) await stopProfile(profileTo);
  const cpu = Object.fromEntries(
    Object.entries(cpuAfter).map(([name, seconds]) => [name, round(seconds - (cpuBefore[name] ?? 0), 2)]),
  );
  return { result, ms, memory, cpu, gc };
}

function cpuOf(children: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = { bench: cpuSeconds('self') ?? 0 };
  for (const [name, pid] of Object.entries(children)) {
    const seconds = pid ? cpuSeconds(pid) : undefined;
    if (seconds !== undefined) out[name] = seconds;
  }
  return out;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs a full garbage collection when this process can (V8's `gc` is exposed on demand), so phases start even. */
export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void };
  if (!g.gc) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('node:v8').setFlagsFromString('--expose-gc');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      g.gc = require('node:vm').runInNewContext('gc') as () => void;
    } catch {
      return;
    }
  }
  g.gc?.();
}
