import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on the search path, or undefined (a `which` without spawning a shell). */
export function findExecutable(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; try the next one.
    }
  }
  return undefined;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns true; fails with `what` in the message after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcessOptions {
  /** Shown in error messages. */
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** How to ask the process to stop cleanly; escalated to SIGKILL after the grace period. */
  stopSignal?: NodeJS.Signals;
  /**
   * Sent to the child if our own process ends while the child still runs, so an aborted test run or demo leaves
   * no server behind. PostgreSQL wants SIGQUIT here: it takes its backends down with it. Default SIGKILL.
   */
  exitSignal?: NodeJS.Signals;
  /**
   * A separate process group keeps a terminal's Ctrl-C away from the child, so the parent can stop its children
   * in order (the app before the databases it drains into).
   */
  detached?: boolean;
  /** Let the child write straight to our stdout/stderr (the demo's app logs) instead of keeping its output. */
  inheritOutput?: boolean;
}

const OUTPUT_TAIL_CHARS = 8_000;

/**
 * On Linux, util-linux's setpriv sets the child's parent-death signal before it execs the real program, so the
 * child goes down with us even when we are killed outright (a Jest worker force-killed, the demo killed with -9),
 * which no 'exit' handler of ours would see.
 */
const SETPRIV = process.platform === 'linux' ? findExecutable('setpriv') : undefined;

/**
 * A long-running child (a database server, the app) whose output is kept for error messages and which is
 * guaranteed stopped by {@link ManagedProcess.stop} or, failing that, by our own exit.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private tail = '';
  private running = true;
  private readonly killOnExit: () => void;

  constructor(
    command: string,
    args: readonly string[],
    private readonly options: ManagedProcessOptions,
  ) {
    const exitSignal = options.exitSignal ?? 'SIGKILL';
    const [file, argv] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', exitSignal, '--', command, ...args]]
      : [command, [...args]];
    this.child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      uid: options.uid,
      gid: options.gid,
      detached: options.detached ?? false,
      stdio: ['ignore', options.inheritOutput ? 'inherit' : 'pipe', options.inheritOutput ? 'inherit' : 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.killOnExit = () => {
      if (this.running) this.child.kill(exitSignal);
    };
    process.once('exit', this.killOnExit);
    this.exited = new Promise((resolve) => {
      // 'close' rather than 'exit': it fires after the output pipes are drained, so output() is complete.
      this.child.once('close', (code, signal) => {
        this.running = false;
        process.removeListener('exit', this.killOnExit);
        resolve({ code, signal });
      });
      this.child.once('error', (err) => {
        this.tail += `\n${err.message}`;
        this.running = false;
        process.removeListener('exit', this.killOnExit);
        resolve({ code: null, signal: null });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The last few kilobytes the process wrote to stdout and stderr. */
  output(): string {
    return this.tail;
  }

  /** Describes an unexpected exit, with the output that explains it. */
  describeExit(status: ExitStatus): string {
    const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${String(status.code)}`;
    const output = this.options.inheritOutput ? '(its output is above)' : this.output().trim();
    return `${this.options.name} ${how}:\n${output}`;
  }

  /** Asks the process to stop, waits up to `graceMs`, then kills it. Resolves once it is gone. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (this.running) {
      this.child.kill(this.options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function runToCompletion(
  command: string,
  args: readonly string[],
  options: Omit<ManagedProcessOptions, 'stopSignal' | 'exitSignal'>,
): Promise<string> {
  const proc = new ManagedProcess(command, args, options);
  const status = await proc.exited;
  if (status.code !== 0) throw new Error(proc.describeExit(status));
  return proc.output();
}
