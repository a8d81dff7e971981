import { MikroORM } from '@mikro-orm/postgresql';
import { RedisService } from '../../src/common/redis/redis.module';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { dropboxContentHash, emulatorDropboxClient } from '../../tools/dropbox-emulator';
import {
  DropboxAuthExpired,
  DropboxConflict,
  DropboxNotFound,
  DropboxPermanent,
  DropboxRateLimited,
  DropboxTransient,
} from '../../src/modules/dropbox/dropbox.errors';
import { DropboxAccountClient } from '../../src/modules/dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../../src/modules/dropbox/dropbox-connections.service';
import { DropboxOAuthClient } from '../../src/modules/dropbox/dropbox-oauth.client';
import type { UploadCheckpoint } from '../../src/modules/dropbox/dropbox.types';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { TemporaryLinksService } from '../../src/modules/dropbox/temporary-links.service';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

const FAST = { dropbox: { baseBackoffMs: 5, maxBackoffMs: 20, maxAttempts: 3 } };

/** A source that streams (like a socket) … */
function bufferSource(data: Buffer) {
  return { size: data.length, open: (offset: number) => Readable.from([data.subarray(offset)]) };
}

/** … or that reads at a position (like a file): the gateway's zero-copy path. */
function positionalSource(data: Buffer) {
  return {
    ...bufferSource(data),
    read: async (buffer: Buffer, position: number) => data.copy(buffer, 0, position, position + buffer.length),
  };
}

describe('DropboxGateway against the emulator', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let second: TestApp;
  let connection: DropboxConnection;
  let client: DropboxAccountClient;
  let producer: TestUser;

  beforeAll(async () => {
    emulator = await startTestEmulator({ strict: true });
    t = await startTestApp({ env: { ...dropboxEnv(emulator), DROPBOX_UPLOAD_CHUNK_MIB: '4' }, tuning: FAST });
    // A second process of the same installation (same database, same Redis prefix).
    second = await startTestApp({
      env: { ...dropboxEnv(emulator), DROPBOX_UPLOAD_CHUNK_MIB: '4' },
      tuning: FAST,
      sharing: t,
    });
    producer = await signedInUser(t);
    connection = await seedConnection(t, emulator, producer, { email: 'gw@dropbox.test' });
    client = await t.app.get(DropboxConnectionsService).clientFor(producer.id);
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
    await emulator?.close();
  });
  beforeEach(() => {
    emulator.control.clearFaults();
    emulator.control.resetCounters();
  });

  const calls = (route: string) => emulator.control.counters().callsByRoute[route] ?? 0;
  const connectionRow = () => t.app.get(MikroORM).em.fork().findOneOrFail(DropboxConnection, { id: connection.id });
  const forgetAccessToken = () =>
    t.app
      .get(MikroORM)
      .em.fork()
      .nativeUpdate(DropboxConnection, { id: connection.id }, { accessTokenExpiresAt: new Date(0) });

  describe('tokens', () => {
    it('refreshes once for concurrent callers across two processes, and persists the new token', async () => {
      await forgetAccessToken();
      const refreshA = jest.spyOn(t.app.get(DropboxOAuthClient), 'refresh');
      const refreshB = jest.spyOn(second.app.get(DropboxOAuthClient), 'refresh');
      const otherProcessClient = await second.app
        .get(DropboxConnectionsService)
        .clientFor((await connectionRow()).user.id);
      await Promise.all([
        client.listFolder(''),
        client.listFolder(''),
        client.listFolder(''),
        otherProcessClient.listFolder(''),
        otherProcessClient.listFolder(''),
      ]);
      expect(refreshA.mock.calls.length + refreshB.mock.calls.length).toBe(1);
      const row = await connectionRow();
      expect(row.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3600_000);
      expect(row.lastRefreshedAt).toBeTruthy();
      refreshA.mockRestore();
      refreshB.mockRestore();
    });

    it('refreshes once and retries once when Dropbox says the access token expired', async () => {
      const refresh = jest.spyOn(t.app.get(DropboxOAuthClient), 'refresh');
      emulator.control.expireTokens({ account_id: connection.accountId });
      await expect(client.listFolder('')).resolves.toEqual(expect.any(Array));
      expect(refresh).toHaveBeenCalledTimes(1);
      expect(calls('files/list_folder')).toBe(2);
      refresh.mockRestore();
    });
  });

  describe('errors become domain errors', () => {
    it('not found', async () => {
      await expect(client.getMetadata('/does/not/exist.wav')).rejects.toBeInstanceOf(DropboxNotFound);
    });

    it('conflict', async () => {
      await client.createFolder('/Conflict Test');
      const err = await client.createFolder('/conflict test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DropboxConflict);
      expect((err as DropboxConflict).tags).toEqual(['path', 'conflict', 'folder']);
    });

    it('permanent, with the tag chain', async () => {
      emulator.control.addFault({ route: 'files/get_metadata', errorTag: 'path/restricted_content', times: 1 });
      const err = await client.getMetadata('/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DropboxPermanent);
      expect((err as DropboxPermanent).tags).toEqual(['path', 'restricted_content']);
      expect(calls('files/get_metadata')).toBe(1);
    });

    it('400 is a bug, not retried', async () => {
      emulator.control.addFault({
        route: 'files/get_metadata',
        status: 400,
        body: 'Error in call to API function "files/get_metadata": bad',
        times: 5,
      });
      await expect(client.getMetadata('/x')).rejects.toBeInstanceOf(DropboxPermanent);
      expect(calls('files/get_metadata')).toBe(1);
    });

    it('transient 5xx is retried, then reported', async () => {
      emulator.control.addFault({ route: 'files/get_metadata', status: 503, times: 10 });
      await expect(client.getMetadata('/x')).rejects.toBeInstanceOf(DropboxTransient);
      expect(calls('files/get_metadata')).toBe(3);
      emulator.control.clearFaults();
      emulator.control.resetCounters();
      emulator.control.addFault({ route: 'files/list_folder', status: 500, times: 1 });
      await expect(client.listFolder('')).resolves.toEqual(expect.any(Array));
      expect(calls('files/list_folder')).toBe(2);
    });

    it('rate limited, with the delay Dropbox asked for', async () => {
      emulator.control.addFault({ route: 'files/get_metadata', status: 429, retryAfterSeconds: 120, times: 1 });
      const err = await client.getMetadata('/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DropboxRateLimited);
      expect((err as DropboxRateLimited).retryAfterMs).toBe(120_000);
    });

    // The 120 s pause above holds every process of the account; lift it for the next tests.
    afterAll(async () => {
      const redis = t.app.get(RedisService);
      await redis.client.del(redis.key('dbx', 'pause', connection.accountId));
    });
  });

  describe('Retry-After', () => {
    it('waits at least Retry-After before the retry, and other callers of the account wait too', async () => {
      await client.createFolder('/RA');
      emulator.control.addFault({ route: 'files/get_metadata', status: 429, retryAfterSeconds: 1, times: 1 });
      const started = Date.now();
      const first = client.getMetadata('/RA');
      await new Promise((r) => setTimeout(r, 100));
      const otherStarted = Date.now();
      const otherDone = client.listFolder('/RA').then(() => Date.now());
      await expect(first).resolves.toMatchObject({ kind: 'folder' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(calls('files/get_metadata')).toBe(2);
      // The listing began 100 ms after the 429 and still waited for the rest of the pause.
      expect((await otherDone) - otherStarted).toBeGreaterThanOrEqual(800);
    });
  });

  describe('the account write slot', () => {
    it('keeps 20 concurrent writers from two processes at one write in flight (strict emulator)', async () => {
      const otherClient = await second.app.get(DropboxConnectionsService).clientFor((await connectionRow()).user.id);
      const writers = Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? client : otherClient).createFolder(`/Writers/folder-${i}`),
      );
      await Promise.all(writers);
      const counters = emulator.control.counters();
      expect(counters.maxConcurrentWritesByAccount[connection.accountId]).toBe(1);
      expect(counters.rateLimited).toBe(0);
      expect(calls('files/create_folder_v2')).toBe(20);
      const listed = await client.listFolder('/Writers');
      expect(listed).toHaveLength(20);
    });
  });

  describe('temporary links', () => {
    it('1,000 requests for 50 files from 20 concurrent callers make 50 Dropbox calls', async () => {
      // The 50 files go straight into the emulator (the gateway's uploads have tests of their own below): through
      // the gateway, one write at a time, they took longer than the 1,000 link requests.
      const dbx = emulatorDropboxClient(
        emulator.url,
        emulator.control.issueToken({ account_id: connection.accountId }).access_token,
      );
      const uploaded: Array<{ id: string; rev: string }> = [];
      for (let i = 0; i < 50; i += 1) {
        const { result } = await dbx.filesUpload({ path: `/Links/file-${i}.wav`, contents: Buffer.from(`audio ${i}`) });
        uploaded.push({ id: result.id, rev: result.rev });
      }
      emulator.control.resetCounters();
      const links = t.app.get(TemporaryLinksService);
      const otherLinks = second.app.get(TemporaryLinksService);
      const otherClient = await second.app.get(DropboxConnectionsService).clientFor((await connectionRow()).user.id);
      let next = 0;
      const results = new Map<string, Set<string>>();
      await Promise.all(
        Array.from({ length: 20 }, async (_, worker) => {
          while (next < 1000) {
            const file = uploaded[next++ % 50];
            const got = worker % 2 ? await links.link(client, file) : await otherLinks.link(otherClient, file);
            if (!results.has(file.id)) results.set(file.id, new Set());
            results.get(file.id)!.add(got.link);
          }
        }),
      );
      expect(calls('files/get_temporary_link')).toBe(50);
      expect([...results.values()].every((set) => set.size === 1)).toBe(true);
    });

    it('gives a new revision a new link', async () => {
      const v1 = await client.upload('/Links/live.wav', bufferSource(Buffer.from('version one')));
      const links = t.app.get(TemporaryLinksService);
      const first = await links.link(client, { id: v1.id, rev: v1.rev! });
      const v2 = await client.upload('/Links/live.wav', bufferSource(Buffer.from('version two!')), {
        mode: 'overwrite',
      });
      expect(v2.rev).not.toBe(v1.rev);
      const second = await links.link(client, { id: v2.id, rev: v2.rev! });
      expect(second.link).not.toBe(first.link);
      expect(await (await fetch(second.link)).text()).toBe('version two!');
    });
  });

  describe('uploads', () => {
    it('uploads a small file in one call with a matching content hash', async () => {
      const data = randomBytes(100_000);
      const entry = await client.upload('/Up/small.wav', bufferSource(data));
      expect(entry.contentHash).toBe(dropboxContentHash(data));
      expect(entry.size).toBe(data.length);
      expect(calls('files/upload')).toBe(1);
    });

    it('streams a multi-chunk file through an upload session', async () => {
      const data = randomBytes(4 * 1024 * 1024 * 2 + 1234);
      const progress: number[] = [];
      const entry = await client.upload('/Up/big.wav', bufferSource(data), { onProgress: (n) => progress.push(n) });
      expect(entry.contentHash).toBe(dropboxContentHash(data));
      expect(calls('files/upload_session/start')).toBe(1);
      expect(calls('files/upload_session/append_v2')).toBe(2);
      expect(calls('files/upload_session/finish')).toBe(1);
      expect(progress.at(-1)).toBe(data.length);
    });

    it('resumes from its checkpoint after a failure, sending nothing twice and storing the file once', async () => {
      const data = randomBytes(4 * 1024 * 1024 * 3 + 99);
      let saved: UploadCheckpoint | null = null;
      emulator.control.addFault({ route: 'files/upload_session/append_v2', status: 503, times: 3 });
      const first = await client
        .upload('/Up/resumed.wav', positionalSource(data), { onCheckpoint: async (cp) => void (saved = cp) })
        .catch((e: unknown) => e);
      expect(first).toBeInstanceOf(DropboxTransient);
      expect(saved).toMatchObject({ offset: 4 * 1024 * 1024 });
      const received = emulator.control.counters().bytesReceived;

      const entry = await client.upload('/Up/resumed.wav', positionalSource(data), {
        checkpoint: saved,
        onCheckpoint: async (cp) => void (saved = cp),
      });
      expect(entry.contentHash).toBe(dropboxContentHash(data));
      expect(saved).toBeNull();
      expect(calls('files/upload_session/start')).toBe(1);
      // The resumed run sent only what the first did not: about 3 chunks, not 4.
      expect(emulator.control.counters().bytesReceived - received).toBeLessThan(4 * 1024 * 1024 * 3);
      const listed = (await client.listFolder('/Up')).filter((e) => e.name === 'resumed.wav');
      expect(listed).toHaveLength(1);
    });
  });

  describe('a connection Dropbox no longer accepts', () => {
    it('marks it expired when the refresh token is rejected, and does not retry in a loop', async () => {
      const refresh = jest.spyOn(t.app.get(DropboxOAuthClient), 'refresh');
      emulator.control.revokeTokens({ account_id: connection.accountId });
      await forgetAccessToken();
      await expect(client.listFolder('')).rejects.toBeInstanceOf(DropboxAuthExpired);
      expect((await connectionRow()).status).toBe('expired');
      await expect(client.listFolder('')).rejects.toBeInstanceOf(DropboxAuthExpired);
      expect(refresh).toHaveBeenCalledTimes(1);
      refresh.mockRestore();
      const page = await producer.browser.get('/settings');
      expect(page.text).toContain('needs reconnecting');
      expect(page.text).toContain('Reconnect Dropbox');
    });
  });
});
