import { MikroORM } from '@mikro-orm/postgresql';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { jobId, QueueName } from '../../src/queues/queues';
import type { Dropbox } from 'dropbox';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { dropboxContentHash } from '../../tools/dropbox-emulator';
import { runMigrations } from '../../src/database/migrate';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { startTestApp, TestApp } from '../support/app';
import { PrivatePostgres, startPrivatePostgres } from '../support/database';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import {
  connectedProducer,
  filesIn,
  makeTrack as makeCollabTrack,
  Producer,
} from '../integration/collaboration-support';
import type { CollaborationView } from '../../src/modules/collaboration/collaboration.views';
import { backgroundTraffic, distinctFiles, dropboxFiles, eventually, expectCleanFailure, sessionApi } from './support';

/**
 * PostgreSQL stopped and started again under the app (web + workers in one process) while uploads are being
 * streamed into Dropbox and two collaboration pipelines run (the emulator adds latency to every call so they take a
 * while), with API traffic throughout: readiness turns 503, requests in the gap answer 503 quickly and cleanly
 * (including those caught by the shutdown and the first ones after the restart), and once the database is back every
 * upload and pipeline ends done exactly once — one file per upload in Dropbox, one library entry, no row lost, one
 * folder and one invitation call per pipeline.
 */
jest.setTimeout(90_000);

const UPLOADS = 5;
// Six 4 MiB chunks (start, four appends, finish) with checkpoints between them: long enough that the outage lands
// in the middle of every upload's run, even when a loaded machine is slow to stop PostgreSQL.
const FILE_BYTES = 21 * 1024 * 1024;

describe('PostgreSQL outage', () => {
  let pg: PrivatePostgres;
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: Producer;
  let dbx: Dropbox;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const databaseUrl = await pg.database('pd_fault_pg');
    await runMigrations(databaseUrl);
    emulator = await startTestEmulator();
    t = await startTestApp({
      workers: true,
      env: {
        ...dropboxEnv(emulator),
        DATABASE_URL: databaseUrl,
        SPOOL_DIR: `/tmp/pd-spool-faults-pg-${process.pid}`,
        MAX_UPLOAD_MB: '32',
        DROPBOX_UPLOAD_CHUNK_MIB: '4',
        WORKER_CONCURRENCY: '3',
      },
      // Dropbox is healthy here; keep the gateway's own retries short so only the database outage matters.
      tuning: { dropbox: { baseBackoffMs: 50, maxBackoffMs: 500 } },
    });
    producer = await connectedProducer(t, emulator);
    dbx = producer.dbx;
  });

  afterAll(async () => {
    await pg?.restart().catch(() => undefined);
    await t?.close();
    await emulator?.close();
    await pg?.destroy();
  });

  it('answers 503 while the database is down, then finishes every upload and pipeline exactly once', async () => {
    const api = sessionApi(producer);
    const track = await api.post('/api/v1/tracks', { title: 'Outage Session' });
    expect(track.status).toBe(201);
    const trackId: string = track.body.id;
    const bands = [
      await makeCollabTrack(producer, { title: 'Band A', files: 3 }),
      await makeCollabTrack(producer, { title: 'Band B', files: 3 }),
    ];
    emulator.control.resetCounters();

    // Uploads in flight: each Dropbox call takes a while, so the outage lands in the middle of them.
    emulator.control.updateSettings({ latencyMs: 300 });
    const files = distinctFiles(UPLOADS, FILE_BYTES);
    const accepted = await api.upload(`/api/v1/tracks/${trackId}/uploads`, files);
    expect(accepted.status).toBe(201);
    const uploadIds: string[] = accepted.body.map((u: { id: string }) => u.id);
    expect(uploadIds).toHaveLength(UPLOADS);

    // Two collaboration pipelines running too (folder → files → invites, each a job).
    for (const band of bands)
      expect((await api.post(`/api/v1/tracks/${band.id}/collaboration`, { files: band.selection })).status).toBe(202);
    await eventually(
      'an upload is streaming into Dropbox',
      async () =>
        (await api.get(`/api/v1/tracks/${trackId}/uploads`)).body as Array<{ status: string; bytesUploaded: number }>,
      (list) => list.some((u) => u.status === 'uploading' && u.bytesUploaded > 0),
    );

    // Traffic throughout: reads and writes from two callers, from before the stop until after the restart. Every
    // answer must be a success or a clean 503 — including requests caught mid-query when the server shuts down, and
    // the first ones on pooled connections that died with it.
    const traffic = backgroundTraffic(async (i) => {
      const res =
        i % 3 === 2
          ? await api.post(`/api/v1/tracks/${trackId}/collaborators`, {
              collaboratorId: '00000000-0000-4000-8000-000000000000',
            })
          : await api.get(i % 3 === 0 ? '/api/v1/tracks' : `/api/v1/tracks/${trackId}`);
      return res;
    });

    // ---- the database goes away ----
    // The database driver's own warnings go to the app's log, not to stdout through console.log.
    const printed = jest.spyOn(console, 'log');
    await pg.stop();
    const down = await eventually(
      'readiness reports the database down',
      async () => t.client().get('/health/ready').timeout({ response: 10_000, deadline: 10_000 }),
      (res) => res.status === 503,
    );
    expect(down.body.details.database.status).toBe('down');
    expect(down.body.details.redis.status).toBe('up');
    expect((await t.client().get('/health/live')).status).toBe(200);

    // Requests in the gap: JSON API and pages, reads and a write, each answered (deadline 20 s) with a clean 503.
    for (let round = 0; round < 2; round += 1) {
      expectCleanFailure(await api.get('/api/v1/tracks'));
      expectCleanFailure(await api.get(`/api/v1/tracks/${trackId}/uploads`));
      expectCleanFailure(await api.post('/api/v1/tracks', { title: 'Written during the outage' }));
      const page = await api.page(`/tracks/${trackId}`);
      expectCleanFailure(page);
      expect(page.text).toMatch(/temporarily unavailable/i);
    }

    // ---- the database comes back ----
    await pg.restart();
    await eventually(
      'readiness recovers',
      async () => (await t.client().get('/health/ready').timeout({ response: 10_000, deadline: 10_000 })).status,
      (status) => status === 200,
    );
    // The pool recovered: requests work again, and nothing was written by the refused request.
    const tracks = await eventually(
      'the API answers again',
      () => api.get('/api/v1/tracks'),
      (res) => res.status === 200,
    );
    expect(tracks.body.items.map((x: { title: string }) => x.title).sort()).toEqual([
      'Band A',
      'Band B',
      'Outage Session',
    ]);

    const answers = await traffic.stop();
    const unclean = answers.filter(
      (a) => ![200, 404, 503].includes(a.status) || (a.status === 503 && !a.retryAfter) || a.stack,
    );
    expect(unclean).toEqual([]);
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);

    // Every upload finishes (jobs retried with backoff), none failed, none lost.
    const done = await eventually(
      'every upload is done',
      async () =>
        (await api.get(`/api/v1/tracks/${trackId}/uploads`)).body as Array<{
          id: string;
          status: string;
          error: string | null;
        }>,
      (list) => list.length === UPLOADS && list.every((u) => u.status === 'done' || u.status === 'failed'),
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect(done.filter((u) => u.status !== 'done')).toEqual([]);
    expect(done.map((u) => u.id).sort()).toEqual([...uploadIds].sort());

    // Both pipelines finish: one folder each, each file copied once, each collaborator invited once.
    for (const band of bands) {
      const view = await eventually(
        `the pipeline of ${band.id} is done`,
        async () => (await api.get(`/api/v1/tracks/${band.id}/collaboration`)).body as CollaborationView,
        (v) => v.status === 'done' || v.status === 'failed',
        { timeoutMs: 60_000, everyMs: 500 },
      );
      expect({ status: view.status, error: view.error, files: view.files.copied, sent: view.invites.sent }).toEqual({
        status: 'done',
        error: null,
        files: 3,
        sent: 2,
      });
      expect(await filesIn(dbx, view.folder!.path)).toEqual(band.files.map((f) => `Stems/${f.name}`));
    }
    const collaborationFolders = (await dbx.filesListFolder({ path: '/Producer Dashboard/Collaboration' })).result
      .entries;
    expect(collaborationFolders).toHaveLength(2);
    // Invitations are not idempotent in Dropbox (a second call re-sends mail): exactly one per pipeline, outage or not.
    expect(emulator.control.counters().callsByRoute['sharing/add_folder_member']).toBe(2);

    // Exactly once: one file per upload in Dropbox (no "take-01 (2).wav"), each with the right bytes, one library entry each.
    const stored = await dropboxFiles(dbx, '/Producer Dashboard/Outage Session');
    expect(stored.map((f) => f.path)).toEqual(files.map((f) => `/Producer Dashboard/Outage Session/Bounces/${f.name}`));
    expect(stored.map((f) => f.contentHash)).toEqual(files.map((f) => dropboxContentHash(f.bytes)));
    const em = t.app.get(MikroORM).em.fork();
    expect(await em.count(Upload, {})).toBe(UPLOADS);
    const library = await em.find(TrackFile, { track: trackId }, { orderBy: { name: 'asc' } });
    expect(library.map((f) => f.name)).toEqual(files.map((f) => f.name));
    const rows = await em.find(Upload, {}, { populate: ['trackFile'] });
    expect(new Set(rows.map((u) => u.trackFile?.id)).size).toBe(UPLOADS);

    // Uploads were streaming when the database stopped (checked above). A job then either failed and was retried
    // or waited for a connection and went on: both are correct, so only the outcome is asserted — every job
    // finished, none ended as unrecoverable.
    const queue = t.app.get<Queue>(getQueueToken(QueueName.Files));
    const jobs = await Promise.all(uploadIds.map((id) => queue.getJob(jobId('upload', id))));
    expect(jobs.every((job) => job && job.finishedOn && !job.failedReason?.startsWith('unrecoverable'))).toBe(true);
    expect(printed.mock.calls.map((args) => String(args[0])).filter((line) => /Connection/.test(line))).toEqual([]);
    printed.mockRestore();
  });
});
