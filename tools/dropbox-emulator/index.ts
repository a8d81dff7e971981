import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobStore } from './blob-store';
import { DropboxEmulatorOptions } from './config';
import { EmulatorControl } from './control';
import { Emulator } from './emulator';
import { StatePersistence } from './persistence';
import { createEmulatorServer } from './server';

export type { DropboxEmulatorOptions, EmulatorSettings } from './config';
export type { AcceptedInvite, EmulatorAccount, IssueTokenInput, IssuedToken, RegisterAccountInput } from './control';
export { ControlError, EmulatorControl } from './control';
export { connectionGrant } from './grants';
export type { CallRecord, CountersSnapshot } from './counters';
export type { Fault, FaultSpec } from './faults';
export { DropboxContentHasher, dropboxContentHash } from './content-hash';
export { emulatorDropboxClient, emulatorFetch } from './sdk-client';

export interface RunningDropboxEmulator {
  /** `http://127.0.0.1:<port>`: API under /2/, OAuth under /oauth2/, control under /_emulator/. */
  url: string;
  port: number;
  control: EmulatorControl;
  /** Stops listening, saves state (with a data dir) or deletes the temp dir (without). */
  close(): Promise<void>;
}

/** Starts an emulator in this process. */
export async function startDropboxEmulator(options: DropboxEmulatorOptions = {}): Promise<RunningDropboxEmulator> {
  const root = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dropbox-emulator-')));
  await mkdir(root, { recursive: true });
  const persisted = options.dataDir ? StatePersistence.load(options.dataDir) : undefined;
  const blobs = new BlobStore(root);
  await blobs.init();
  const emulator = new Emulator(options, blobs, persisted);
  if (persisted) await collectGarbage(emulator);

  const control = new EmulatorControl(emulator);
  const server = createEmulatorServer(emulator, control);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  emulator.baseUrl = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;

  return {
    url: emulator.baseUrl,
    port,
    control,
    async close() {
      emulator.faults.releaseAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await emulator.flush();
      if (!options.dataDir) await rm(root, { recursive: true, force: true });
    },
  };
}

/** After a restart: drop blob and session files that no file, temporary link or upload session refers to. */
async function collectGarbage(emulator: Emulator): Promise<void> {
  const state = emulator.state.toJSON();
  const blobs = new Set<string>(state.tempLinks.map((link) => link.blob));
  for (const entries of Object.values(state.entries)) {
    for (const entry of entries) {
      if (entry.tag !== 'file') continue;
      blobs.add(entry.blob);
      for (const revision of entry.revisions ?? []) blobs.add(revision.blob);
    }
  }
  await emulator.blobs.collectGarbage(blobs, new Set(state.uploadSessions.map((session) => session.file)));
}
