import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CountersSnapshot, EmulatorAccount, EmulatorSettings, IssuedToken } from '../dropbox-emulator';
import { ManagedProcess } from '../services';

/** The emulator CLI built beside this file (dist/tools/bench → dist/tools/dropbox-emulator). */
const EMULATOR_CLI = join(__dirname, '..', 'dropbox-emulator', 'cli.js');
const READY_TIMEOUT_MS = 30_000;

/**
 * The Dropbox emulator in a child process, so its memory and CPU are not the bench process's, driven through its
 * HTTP control API (`/_emulator/…`), which maps one to one onto `EmulatorControl`.
 */
export class EmulatorProcess {
  private constructor(
    readonly url: string,
    private readonly proc: ManagedProcess,
  ) {}

  static async start(options: { dataDir: string; appKey: string }): Promise<EmulatorProcess> {
    if (!existsSync(EMULATOR_CLI)) {
      throw new Error(`${EMULATOR_CLI} is missing: build first (npx tsc -p tsconfig.build.json or npm run bench)`);
    }
    const proc = new ManagedProcess(
      process.execPath,
      [EMULATOR_CLI, '--port', '0', '--data-dir', options.dataDir, '--app-key', options.appKey],
      { name: 'dropbox-emulator', env: { ...process.env, NODE_ENV: 'production' } },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        void proc.stop();
        reject(new Error(`dropbox-emulator did not start within ${READY_TIMEOUT_MS} ms:\n${proc.output()}`));
      }, READY_TIMEOUT_MS);
      proc.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void proc.exited.then((status) => {
        clearTimeout(timer);
        reject(new Error(proc.describeExit(status)));
      });
    });
    return new EmulatorProcess(url, proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  registerAccount(email: string): Promise<EmulatorAccount> {
    return this.control('POST', 'accounts', { email });
  }

  issueToken(accountId: string): Promise<IssuedToken> {
    return this.control('POST', 'tokens', { account_id: accountId });
  }

  counters(): Promise<CountersSnapshot> {
    return this.control('GET', 'counters');
  }

  async resetCounters(): Promise<void> {
    await this.control('POST', 'counters/reset');
  }

  updateSettings(changes: Partial<EmulatorSettings>): Promise<EmulatorSettings> {
    return this.control('PUT', 'settings', changes);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }

  private async control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}/_emulator/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`emulator ${method} /_emulator/${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}
