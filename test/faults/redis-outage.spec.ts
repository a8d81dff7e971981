import { getQueueToken } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';
import type { Dropbox } from 'dropbox';
import { dropboxContentHash, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { jobId, QueueName } from '../../src/queues/queues';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import { PrivateRedis, startPrivateRedis } from '../support/redis';
import {
  connectedProducer,
  filesIn,
  makeTrack as makeCollabTrack,
  Producer,
} from '../integration/collaboration-support';
import type { CollaborationView } from '../../src/modules/collaboration/collaboration.views';
import {
  closeQueueWorkers,
  distinctFiles,
  dropboxFiles,
  eventually,
  expectCleanFailure,
  heldUploadsAndPipeline,
  sessionApi,
} from './support';

/**
 * Redis (append-only persistence, owned by this test) stopped and started again under a web process and a worker
 * process of one installation, while upload jobs sit in the queue: the worker is held on the first upload (the
 * emulator delays that one Dropbox call), so the others are still waiting when Redis goes; a collaboration
 * pipeline is held the same way on its first step, the other two waiting as a BullMQ flow. During the outage the
 * web answers 503 (readiness, pages needing the session) without hanging; afterwards both processes reconnect on
 * their own, the signed-in session still works, and every queued job runs exactly once.
 */
jest.setTimeout(90_000);

const UPLOADS = 5;

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let emulator: RunningDropboxEmulator;
  let web: TestApp;
  let worker: TestApp;
  let producer: Producer;
  let dbx: Dropbox;

  beforeAll(async () => {
    redis = await startPrivateRedis({ appendOnly: true });
    emulator = await startTestEmulator();
    web = await startTestApp({
      workers: false,
      env: { ...dropboxEnv(emulator), REDIS_URL: redis.url, SPOOL_DIR: `/tmp/pd-spool-faults-redis-${process.pid}` },
    });
    // A second process of the same installation (same database, Redis and prefix) running the queue processors.
    worker = await startTestApp({ sharing: web, workers: true, env: { ...web.env, WORKER_CONCURRENCY: '1' } });
    producer = await connectedProducer(web, emulator);
    dbx = producer.dbx;
  });

  afterAll(async () => {
    await redis?.restart().catch(() => undefined);
    // Every job is finished by now. BullMQ's graceful close can wait on a blocking connection that went through the
    // restart (seen intermittently); closing the queue workers without waiting keeps a failing run from hanging.
    if (worker) await closeQueueWorkers(worker);
    await worker?.close();
    await web?.close();
    await emulator?.close();
    await redis?.destroy();
  });

  it('web and worker reconnect by themselves and every queued job runs once', async () => {
    const api = sessionApi(producer);
    const track = await api.post('/api/v1/tracks', { title: 'Redis Session' });
    expect(track.status).toBe(201);
    const trackId: string = track.body.id;
    const queue = web.app.get<Queue>(getQueueToken(QueueName.Files));
    const collabQueue = web.app.get<Queue>(getQueueToken(QueueName.Collaboration));
    const band = await makeCollabTrack(producer, { title: 'Redis Band', files: 3 });

    // The first upload's Dropbox call is held for a while: with one job at a time, the rest wait in Redis.
    emulator.control.resetCounters();
    emulator.control.addFault({ route: 'files/upload', latencyMs: 8_000, times: 1 });
    // Likewise a collaboration pipeline: its first step is held in Dropbox, the next two wait in Redis as a flow.
    emulator.control.addFault({ route: 'sharing/share_folder', latencyMs: 8_000, times: 1 });
    expect((await api.post(`/api/v1/tracks/${band.id}/collaboration`, { files: band.selection })).status).toBe(202);
    const files = distinctFiles(UPLOADS, 256 * 1024);
    const accepted = await api.upload(`/api/v1/tracks/${trackId}/uploads`, files);
    expect(accepted.status).toBe(201);
    const uploadIds: string[] = accepted.body.map((u: { id: string }) => u.id);
    const jobIds = uploadIds.map((id) => jobId('upload', id));

    const waitingBefore = await heldUploadsAndPipeline(queue, collabQueue, UPLOADS);

    // ---- Redis goes away (SIGTERM: the append-only file is flushed) ----
    await redis.stop();
    const down = await eventually(
      'readiness reports Redis down',
      async () => web.client().get('/health/ready').timeout({ response: 10_000, deadline: 10_000 }),
      (res) => res.status === 503,
    );
    expect(down.body.details.redis.status).toBe('down');
    expect(down.body.details.database.status).toBe('up');
    // Pages and the API need the session (in Redis): a clean 503 within the request deadline, not a hang.
    expectCleanFailure(await api.page('/tracks'));
    expectCleanFailure(await api.get('/api/v1/tracks'));
    expect((await web.client().get('/health/live')).status).toBe(200);

    // ---- Redis comes back with its data ----
    await redis.restart();
    await eventually(
      'readiness recovers',
      async () => (await web.client().get('/health/ready').timeout({ response: 10_000, deadline: 10_000 })).status,
      (status) => status === 200,
    );
    // The session survived (append-only file) and the web's client reconnected: same cookie, signed in.
    const list = await eventually(
      'the signed-in API answers again',
      () => api.get('/api/v1/tracks'),
      (res) => res.status === 200,
    );
    expect(list.body.items.map((x: { title: string }) => x.title).sort()).toEqual(['Redis Band', 'Redis Session']);

    // The worker reconnected and drained the queue: every upload done.
    const done = await eventually(
      'every upload is done',
      async () => (await api.get(`/api/v1/tracks/${trackId}/uploads`)).body as Array<{ id: string; status: string }>,
      (l) => l.length === UPLOADS && l.every((u) => u.status === 'done' || u.status === 'failed'),
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect(done.filter((u) => u.status !== 'done')).toEqual([]);

    // Exactly once: the jobs that waited through the outage started once each; Dropbox received one commit per file.
    // The upload rows say done before BullMQ does: the job that lost its lock may still be re-running (a no-op that
    // finds the file in Dropbox), so wait for every job to have finished rather than read them at this moment.
    const jobs = await eventually(
      'every upload job has finished in the queue',
      async () => (await Promise.all(jobIds.map((id) => queue.getJob(id)))) as Array<Job | undefined>,
      (all) => all.every((job) => job?.finishedOn),
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(waitingBefore).toHaveLength(UPLOADS - 1);
    // Only the job running when Redis went away may have lost its lock and run again (its Dropbox step is
    // idempotent: one commit per file, checked below); the waiting ones never failed.
    expect(
      jobs
        .filter((job) => job?.failedReason && waitingBefore.includes(job.id!))
        .map((job) => [job!.id, job!.failedReason]),
    ).toEqual([]);
    for (const id of waitingBefore)
      expect({ id, started: jobs.find((j) => j?.id === id)?.attemptsStarted }).toEqual({ id, started: 1 });
    expect(emulator.control.counters().callsByRoute['files/upload']).toBe(UPLOADS);
    const stored = await dropboxFiles(dbx, '/Producer Dashboard/Redis Session');
    expect(stored.map((f) => f.path)).toEqual(files.map((f) => `/Producer Dashboard/Redis Session/Bounces/${f.name}`));
    expect(stored.map((f) => f.contentHash)).toEqual(files.map((f) => dropboxContentHash(f.bytes)));

    // The pipeline's flow survived the restart: done, each file once, the collaborators invited with one call.
    const view = await eventually(
      'the pipeline is done',
      async () => (await api.get(`/api/v1/tracks/${band.id}/collaboration`)).body as CollaborationView,
      (v) => v.status === 'done' || v.status === 'failed',
      { timeoutMs: 60_000, everyMs: 500 },
    );
    expect({ status: view.status, error: view.error, copied: view.files.copied, sent: view.invites.sent }).toEqual({
      status: 'done',
      error: null,
      copied: 3,
      sent: 2,
    });
    expect(await filesIn(dbx, view.folder!.path)).toEqual(band.files.map((f) => `Stems/${f.name}`));
    expect(emulator.control.counters().callsByRoute['sharing/add_folder_member']).toBe(1);

    // The web's queue connection reconnected too: a new upload is enqueued and processed.
    const more = await api.upload(`/api/v1/tracks/${trackId}/uploads`, [
      { name: 'after-restart.wav', bytes: Buffer.from('after the restart') },
    ]);
    expect(more.status).toBe(201);
    await eventually(
      'the upload made after the restart is done',
      async () => (await api.get(`/api/v1/uploads/${more.body[0].id}`)).body.status,
      (status) => status === 'done',
    );
  });
});
