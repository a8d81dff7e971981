import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { DropboxTransient } from '../../src/modules/dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser } from '../support/users';

/** A Dropbox that stops answering (instead of refusing) doesn't hold a call: it times out and is retried. */
describe('DropboxGateway call timeouts', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({
      env: dropboxEnv(emulator),
      tuning: { dropbox: { rpcTimeoutMs: 1_000, maxAttempts: 2, baseBackoffMs: 5, maxBackoffMs: 20 } },
    });
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('gives up on an unanswered call and succeeds on the retry', async () => {
    const producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'timeout@dropbox.test' });
    const client = await t.app.get(DropboxConnectionsService).clientFor(producer.id);
    await client.createFolder('/Slow');
    emulator.control.resetCounters();
    emulator.control.addFault({ route: 'files/get_metadata', latencyMs: 8_000, times: 1 });
    const started = Date.now();
    await expect(client.getMetadata('/Slow')).resolves.toMatchObject({ kind: 'folder' });
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(emulator.control.counters().callsByRoute['files/get_metadata']).toBe(2);
  });

  it('reports a call that never answers as a transient failure', async () => {
    const producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'timeout2@dropbox.test' });
    const client = await t.app.get(DropboxConnectionsService).clientFor(producer.id);
    emulator.control.addFault({ route: 'files/list_folder', latencyMs: 8_000, times: 2 });
    const started = Date.now();
    await expect(client.listFolder('')).rejects.toBeInstanceOf(DropboxTransient);
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});
