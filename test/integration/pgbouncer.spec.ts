import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/database';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import { RunningPgBouncer, startPgBouncer } from '../support/pgbouncer';
import { connectedProducer, makeTrack } from './collaboration-support';
import { tokenOf } from './share-support';
import { distinctFiles, dropboxFiles, eventually, sessionApi } from '../faults/support';

/**
 * The app (web and workers in one process) with every database connection through a real PgBouncer in transaction
 * pooling mode whose server pool (2) is smaller than the app's (DATABASE_POOL_MAX=6), so consecutive transactions
 * of one app connection land on different server connections: first-run setup (its advisory lock), sign-in,
 * Dropbox connection, tracks, uploads processed by the workers, a collaboration pipeline, a share link, its page
 * and its revocation all work, many at once.
 */
jest.setTimeout(120_000);

describe('PostgreSQL through PgBouncer (transaction pooling)', () => {
  let database: TestDatabase;
  let bouncer: RunningPgBouncer;
  let emulator: RunningDropboxEmulator;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    bouncer = await startPgBouncer(database.url, { poolSize: 2 });
    emulator = await startTestEmulator();
    t = await startTestApp({
      databaseUrl: bouncer.through(database.url),
      workers: true,
      env: { ...dropboxEnv(emulator), DATABASE_POOL_MAX: '6', SPOOL_DIR: `/tmp/pd-spool-pgbouncer-${process.pid}` },
    });
  });

  afterAll(async () => {
    await t?.close();
    await emulator?.close();
    await bouncer?.stop();
    await database?.drop();
  });

  it('runs the main flows, concurrently, with no session state across transactions', async () => {
    const dbName = new URL(database.url).pathname.slice(1);
    const before = Number((await bouncer.stats())[dbName]?.total_xact_count ?? 0);

    // First-run setup takes a transaction-level advisory lock: the only kind that works through PgBouncer.
    const admin = t.client();
    await admin.setupAdmin();
    expect((await admin.get('/tracks')).status).toBe(200);

    const producer = await connectedProducer(t, emulator);
    const api = sessionApi(producer);
    const tracks = await Promise.all([1, 2, 3].map((i) => api.post('/api/v1/tracks', { title: `Bounce ${i}` })));
    expect(tracks.map((r) => r.status)).toEqual([201, 201, 201]);

    const files = distinctFiles(3, 64 * 1024);
    const uploads = await Promise.all(
      tracks.map((track) => api.upload(`/api/v1/tracks/${track.body.id}/uploads`, files)),
    );
    expect(uploads.map((r) => r.status)).toEqual([201, 201, 201]);
    const band = await makeTrack(producer, { title: 'Pooled Band', files: 2 });
    expect((await api.post(`/api/v1/tracks/${band.id}/collaboration`, { files: band.selection })).status).toBe(202);

    for (const track of tracks) {
      const done = await eventually(
        `uploads of ${track.body.title} done`,
        async () =>
          (await api.get(`/api/v1/tracks/${track.body.id}/uploads`)).body as Array<{ status: string; error?: string }>,
        (l) => l.length === files.length && l.every((u) => u.status === 'done' || u.status === 'failed'),
        { timeoutMs: 60_000, everyMs: 300 },
      );
      expect(done.filter((u) => u.status !== 'done')).toEqual([]);
      expect(
        (await dropboxFiles(producer.dbx, `/Producer Dashboard/${track.body.title}`)).map((f) =>
          f.path.split('/').pop(),
        ),
      ).toEqual(files.map((f) => f.name));
    }
    const pipeline = await eventually(
      'the pipeline is done',
      async () =>
        (await api.get(`/api/v1/tracks/${band.id}/collaboration`)).body as { status: string; error: string | null },
      (v) => v.status === 'done' || v.status === 'failed',
      { timeoutMs: 60_000, everyMs: 300 },
    );
    expect({ status: pipeline.status, error: pipeline.error }).toEqual({ status: 'done', error: null });

    const share = await api.post('/api/v1/shares', { tracks: [{ trackId: band.id, files: band.selection }] });
    expect(share.status).toBe(201);
    const token = tokenOf(share.body.url);
    const pages = await Promise.all(Array.from({ length: 10 }, () => t.client().get(`/s/${token}`)));
    expect(pages.map((p) => p.status)).toEqual(Array(10).fill(200));
    expect((await api.post(`/api/v1/shares/${share.body.id}/revoke`)).body.status).toBe('revoked');
    expect((await t.client().get(`/s/${token}`)).status).toBe(410);

    // It all went through PgBouncer.
    const after = Number((await bouncer.stats())[dbName]?.total_xact_count ?? 0);
    expect(after - before).toBeGreaterThan(50);
  });
});
