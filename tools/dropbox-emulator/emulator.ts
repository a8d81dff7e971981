import { BlobStore } from './blob-store';
import { DropboxEmulatorOptions, EmulatorSettings, settingsFrom } from './config';
import { Counters } from './counters';
import { CopyEntryFaults, FaultRegistry } from './faults';
import { NamespaceLocks } from './namespace-locks';
import { newSecret } from './ids';
import { StatePersistence } from './persistence';
import { EmulatorState, PersistedState } from './state';

/** Everything a request handler needs: the emulated Dropbox plus the test knobs around it. */
export class Emulator {
  state: EmulatorState;
  readonly settings: EmulatorSettings;
  readonly counters = new Counters();
  readonly faults = new FaultRegistry();
  readonly copyEntryFaults = new CopyEntryFaults();
  /** Namespaces an outside writer holds (control API). */
  readonly namespaceLocks = new NamespaceLocks();
  /** Identifies this run: list_folder cursors of an earlier run answer `reset`, as after a Dropbox-side reset. */
  readonly epoch = newSecret(6);
  /** Where this server listens, set once it does. */
  baseUrl = '';
  private persistence: StatePersistence | undefined;

  constructor(
    readonly options: DropboxEmulatorOptions,
    readonly blobs: BlobStore,
    persisted?: PersistedState,
  ) {
    this.settings = settingsFrom(options);
    this.state = this.newState(persisted);
    if (options.dataDir) this.persistence = new StatePersistence(options.dataDir, () => this.state.toJSON());
  }

  /** The base URL of temporary links. */
  get publicUrl(): string {
    return (this.options.publicUrl ?? this.baseUrl).replace(/\/$/, '');
  }

  /** Something may have changed: persist (coalesced) when a data directory is in use. */
  changed(): void {
    this.persistence?.scheduleSave();
  }

  async flush(): Promise<void> {
    await this.persistence?.flush();
  }

  /** Forgets every account, file, share and token (the blob files stay until the next start-up's cleanup). */
  resetState(): void {
    this.state = this.newState();
    this.changed();
  }

  private newState(persisted?: PersistedState): EmulatorState {
    return new EmulatorState(() => this.settings.accessTokenLifetimeMs, persisted);
  }
}
