import { Readable } from 'node:stream';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import type { DropboxAccountClient } from '../../src/modules/dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import type { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser } from '../support/users';

const FAST = { dropbox: { baseBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 3 } };

function source(text: string) {
  const data = Buffer.from(text);
  return { size: data.length, open: (offset: number) => Readable.from([data.subarray(offset)]) };
}

/**
 * Dropbox answers overlapping writes of one account with too_many_write_operations; the gateway keeps one write
 * per account in flight, across processes. The emulator answers each call after a delay here, so writes that were
 * not serialised would really overlap (without it, each call ends before the next one arrives and nothing shows).
 */
describe('security: one Dropbox write per account at a time, whatever the process', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let second: TestApp;
  let connection: DropboxConnection;
  let clients: DropboxAccountClient[];

  beforeAll(async () => {
    emulator = await startTestEmulator({ strict: true, latencyMs: 25 });
    t = await startTestApp({ env: dropboxEnv(emulator), tuning: FAST });
    // A second process of the same installation (same database, same Redis prefix).
    second = await startTestApp({ env: dropboxEnv(emulator), tuning: FAST, sharing: t });
    const producer = await signedInUser(t);
    connection = await seedConnection(t, emulator, producer, { email: 'slot@dropbox.test' });
    clients = [
      await t.app.get(DropboxConnectionsService).clientFor(producer.id),
      await second.app.get(DropboxConnectionsService).clientFor(producer.id),
    ];
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
    await emulator?.close();
  });
  beforeEach(() => emulator.control.resetCounters());

  it('never lets two writes of one account overlap, with 24 writers of two kinds in two processes', async () => {
    const writes = Array.from({ length: 24 }, (_, i) => {
      const client = clients[i % 2];
      return i % 3 === 0
        ? client.upload(`/Slot/file-${i}.txt`, source(`file ${i}`))
        : client.createFolder(`/Slot/folder-${i}`);
    });
    const results = await Promise.allSettled(writes);
    const counters = emulator.control.counters();
    expect({
      maxConcurrentWrites: counters.maxConcurrentWritesByAccount[connection.accountId],
      rateLimited: counters.rateLimited,
      failed: results.filter((r) => r.status === 'rejected').length,
    }).toEqual({ maxConcurrentWrites: 1, rateLimited: 0, failed: 0 });
    expect(await clients[0].listFolder('/Slot')).toHaveLength(24);
  });
});
