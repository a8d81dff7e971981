import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropboxContentHash, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { makeWav } from '../../tools/fixtures/audio';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import {
  connectedProducer,
  filesIn,
  makeTrack as makeCollabTrack,
  Producer,
} from '../integration/collaboration-support';
import type { CollaborationView } from '../../src/modules/collaboration/collaboration.views';
import { dropboxFiles, eventually, expectCleanFailure, pause, sessionApi } from './support';

/**
 * The Dropbox emulator unreachable for a while (closed, then a new one started on the same port with the same data
 * directory), with the app's web and workers running. Production's "a minute" is scaled down to 15 s (OUTAGE_MS), at
 * least until every background job has visibly failed against it and been put back to wait, and the gateway's
 * in-process retries are shortened through `tuning` (2 tries, 50–200 ms backoff) so a page gives up on Dropbox in
 * well under a second; the queue's own backoff (5 s, 10 s, 20 s…) is production's.
 *
 * While Dropbox is away: the tracks list, a track page (library shown as "could not be reached", no stack trace,
 * no internal address), the recipients' share page all render; play answers a clean 503; an upload and a
 * collaboration pipeline are accepted and wait. Once Dropbox is back both finish — each file once.
 */
jest.setTimeout(90_000);

/** How long Dropbox stays away: production's "a minute", scaled down (job retries back off 5 s, 10 s, 20 s…). */
const OUTAGE_MS = 15_000;

describe('Dropbox outage', () => {
  let dataDir: string;
  let emulator: RunningDropboxEmulator;
  let port: number;
  let t: TestApp;
  let producer: Producer;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pd-faults-dropbox-'));
    emulator = await startTestEmulator({ dataDir });
    port = emulator.port;
    t = await startTestApp({
      workers: true,
      env: {
        ...dropboxEnv(emulator),
        SPOOL_DIR: `/tmp/pd-spool-faults-dropbox-${process.pid}`,
        JOB_LOCK_SECONDS: '10',
      },
      tuning: { dropbox: { maxAttempts: 2, baseBackoffMs: 50, maxBackoffMs: 200 } },
    });
    producer = await connectedProducer(t, emulator);
  });

  afterAll(async () => {
    await t?.close();
    await emulator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('renders pages while Dropbox is unreachable, and finishes uploads and pipelines once it is back', async () => {
    const api = sessionApi(producer);

    // ---- before: a track with an imported master, shared by link; a second track with collaborators ----
    const master = makeWav({ seconds: 1, frequencies: [220], channels: 1, sampleRate: 22_050 });
    const created = await api.post('/api/v1/tracks', { title: 'Offline Session' });
    expect(created.status).toBe(201);
    const trackId: string = created.body.id;
    const folder: string = created.body.dropboxFolderPath;
    await producer.dbx.filesUpload({ path: `${folder}/Bounces/Master.wav`, contents: master });
    const found = await api.get(`/api/v1/tracks/${trackId}/library`);
    const imported = await api.post(`/api/v1/tracks/${trackId}/library/import`, {
      dropboxIds: found.body.items.map((i: { dropboxId: string }) => i.dropboxId),
    });
    expect(imported.status).toBe(201);
    const fileId: string = imported.body[0].id;
    const share = await api.post('/api/v1/shares', {
      tracks: [{ trackId, files: [`f:${fileId}`] }],
      downloads: { bounce: true },
    });
    expect(share.status).toBe(201);
    const sharePath = new URL(share.body.url).pathname;
    const recipient = t.client();
    expect((await recipient.get(sharePath)).status).toBe(200);

    const collab = await makeCollabTrack(producer, { title: 'Band Session', files: 3 });
    // Imported now, so starting the pipeline during the outage needs no Dropbox call from the web request.
    const collabLib = await api.get(`/api/v1/tracks/${collab.id}/library`);
    const collabImport = await api.post(`/api/v1/tracks/${collab.id}/library/import`, {
      dropboxIds: collabLib.body.items.map((i: { dropboxId: string }) => i.dropboxId),
    });
    expect(collabImport.status).toBe(201);
    const collabSelection = collabImport.body.map((f: { id: string }) => `f:${f.id}`);

    // ---- Dropbox goes away ----
    await emulator.close();
    const outageUntil = Date.now() + OUTAGE_MS;

    // Pages render; the library says Dropbox could not be reached, in words, without internals.
    const trackPage = await api.page(`/tracks/${trackId}`);
    expect(trackPage.status).toBe(200);
    expect(trackPage.text).toMatch(/could not be read: Dropbox could not be reached/);
    expect(trackPage.text).toContain('Offline Session');
    expect(trackPage.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:\d+\/2\/|\n\s+at \S+ \(/);
    expect((await api.page('/tracks')).status).toBe(200);
    const collabPage = await api.page(`/tracks/${collab.id}`);
    expect(collabPage.status).toBe(200);
    // The API says the same with a status a client can act on.
    const library = await api.get(`/api/v1/tracks/${trackId}/library`);
    expectCleanFailure(library, 503);
    expect(library.body.message).toMatch(/Dropbox could not be reached/);

    // Recipients: the playlist page needs no Dropbox call; play explains that Dropbox is unreachable.
    const sharePage = await recipient.get(sharePath);
    expect(sharePage.status).toBe(200);
    expect(sharePage.text).toContain('Master.wav');
    const play = await recipient.get(`${sharePath}/files/${fileId}/play`).set('Accept', 'text/html');
    expectCleanFailure(play, 503);
    expect(play.text).toMatch(/Dropbox is busy or unreachable/);

    // Work is accepted and waits: an upload (spooled here) and a collaboration pipeline.
    const bytes = makeWav({ seconds: 1, frequencies: [330], channels: 1, sampleRate: 22_050 });
    const upload = await api.upload(`/api/v1/tracks/${trackId}/uploads`, [{ name: 'Late take.wav', bytes }]);
    expect(upload.status).toBe(201);
    const uploadId: string = upload.body[0].id;
    const started = await api.post(`/api/v1/tracks/${collab.id}/collaboration`, { files: collabSelection });
    expect(started.status).toBeLessThan(300);

    // Both jobs try, fail against the missing Dropbox and are put back to wait (not failed for good).
    await eventually(
      'the upload is waiting to retry',
      async () => (await api.get(`/api/v1/uploads/${uploadId}`)).body as { status: string; error: string | null },
      (u) => u.status === 'queued' && /^retrying: Dropbox could not be reached/.test(u.error ?? ''),
    );
    const waiting = await eventually(
      'the pipeline is waiting to retry',
      async () => (await api.get(`/api/v1/tracks/${collab.id}/collaboration`)).body as CollaborationView,
      (v) => v.notice !== null || v.status === 'failed',
    );
    expect(waiting.status).not.toBe('failed');
    expect(waiting.error).toBeNull();
    // Pages keep rendering for the rest of the outage (each view gives up on Dropbox quickly, none fails).
    let views = 0;
    while (Date.now() < outageUntil) {
      for (const path of [`/tracks/${trackId}`, `/tracks/${collab.id}`, '/tracks'])
        expect({ path, status: (await api.page(path)).status }).toEqual({ path, status: 200 });
      expect((await recipient.get(sharePath)).status).toBe(200);
      views += 4;
      await pause(500);
    }
    expect(views).toBeGreaterThan(0);
    expect((await api.get(`/api/v1/uploads/${uploadId}`)).body.status).toBe('queued');

    // ---- Dropbox is back: a new emulator on the same port with the same data ----
    emulator = await startTestEmulator({ port, dataDir });

    const done = await eventually(
      'the upload is done',
      async () => (await api.get(`/api/v1/uploads/${uploadId}`)).body as { status: string },
      (u) => u.status === 'done' || u.status === 'failed',
      { timeoutMs: 50_000, everyMs: 500 },
    );
    expect(done.status).toBe('done');
    const view = await eventually(
      'the pipeline is done',
      async () => (await api.get(`/api/v1/tracks/${collab.id}/collaboration`)).body as CollaborationView,
      (v) => v.status === 'done' || v.status === 'failed',
      { timeoutMs: 50_000, everyMs: 500 },
    );
    expect({ status: view.status, error: view.error }).toEqual({ status: 'done', error: null });
    expect(view.invites.sent).toBe(2);

    // Each file once: the upload beside the master, the pipeline's folder with the three stems.
    const stored = await dropboxFiles(producer.dbx, folder);
    expect(stored.map((f) => f.path)).toEqual([`${folder}/Bounces/Late take.wav`, `${folder}/Bounces/Master.wav`]);
    expect(stored[0].contentHash).toBe(dropboxContentHash(bytes));
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(collab.files.map((f) => `Stems/${f.name}`).sort());

    // The library and play work again.
    expect((await api.get(`/api/v1/tracks/${trackId}/library`)).status).toBe(200);
    const playAgain = await recipient.get(`${sharePath}/files/${fileId}/play`);
    // A downloadable bounce: its preview relayed once built, the original's temporary link until then.
    expect([200, 302]).toContain(playAgain.status);
  });
});
