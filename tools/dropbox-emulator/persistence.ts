import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PersistedState } from './state';

const STATE_FILE = 'state.json';
/** Saves are coalesced: a burst of calls writes the file once. */
const SAVE_DELAY_MS = 50;

/**
 * Keeps `state.json` in the data directory in step with the state. Writes go to a temporary file renamed over the
 * old one, so a crash never leaves a half-written state behind.
 */
export class StatePersistence {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly snapshot: () => PersistedState,
  ) {}

  static load(dataDir: string): PersistedState | undefined {
    try {
      return JSON.parse(readFileSync(join(dataDir, STATE_FILE), 'utf8')) as PersistedState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  scheduleSave(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, SAVE_DELAY_MS);
  }

  /** Writes now (on close): pending coalesced saves are folded into this one. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
  }

  private save(): Promise<void> {
    this.saving = this.saving
      .then(async () => {
        const target = join(this.dataDir, STATE_FILE);
        await writeFile(`${target}.tmp`, JSON.stringify(this.snapshot()));
        await rename(`${target}.tmp`, target);
      })
      .catch((error: unknown) => {
        process.stderr.write(`dropbox-emulator: could not save state: ${String(error)}\n`);
      });
    return this.saving;
  }
}
