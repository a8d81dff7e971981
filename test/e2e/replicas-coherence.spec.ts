import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { startTestApp, TestApp, WebClient } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { connectedProducer, makeTrack, Producer } from '../integration/collaboration-support';
import { tokenOf } from '../integration/share-support';
import { sessionApi } from '../faults/support';

/**
 * Two web replicas of one installation (same database, Redis prefix and secrets), as behind the compose proxy: one
 * is this test's app, the other its own process (src/main.ts). The share page is cached on both (Redis page and
 * record caches); an edit or a revocation made on one replica is what the other serves on its very next request —
 * no per-process cache outlives a change made elsewhere.
 */
jest.setTimeout(120_000);

describe('web replicas: caches stay coherent', () => {
  let emulator: RunningDropboxEmulator;
  let a: TestApp;
  let b: ServerProcess;
  let producer: Producer;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    a = await startTestApp({
      workers: true,
      env: { ...dropboxEnv(emulator), SPOOL_DIR: `/tmp/pd-spool-replicas-${process.pid}` },
    });
    b = await startServerProcess({ ...a.env, LOG_LEVEL: 'warn', WORKERS: 'off' });
    producer = await connectedProducer(a, emulator);
  });

  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await emulator?.close();
  });

  it('an edit and a revocation on one replica are served by the other on its next request', async () => {
    const api = sessionApi(producer);
    const band = await makeTrack(producer, { title: 'Replica Band', files: 2, collaborators: [] });
    const share = await api.post('/api/v1/shares', {
      tracks: [{ trackId: band.id, files: band.selection }],
      title: 'First title',
    });
    expect(share.status).toBe(201);
    const token = tokenOf(share.body.url);
    const onA = () => a.client().get(`/s/${token}`);
    const onB = () => new WebClient(b.url).get(`/s/${token}`);

    // Both replicas render (and cache) the page.
    for (const page of [await onA(), await onB(), await onB()]) {
      expect(page.status).toBe(200);
      expect(page.text).toContain('First title');
    }

    // Edited through A: B's next answer shows it.
    const edited = await producer.browser.agent
      .patch(`/api/v1/shares/${share.body.id}`)
      .set('X-CSRF-Token', await producer.browser.csrfFrom('/settings'))
      .send({ title: 'Second title' });
    expect(edited.status).toBe(200);
    const afterEdit = await onB();
    expect(afterEdit.status).toBe(200);
    expect(afterEdit.text).toContain('Second title');
    expect(afterEdit.text).not.toContain('First title');

    // Revoked through A: B's next answer is 410, and so is A's.
    expect((await api.post(`/api/v1/shares/${share.body.id}/revoke`)).body.status).toBe('revoked');
    expect((await onB()).status).toBe(410);
    expect((await onA()).status).toBe(410);
  });
});
