import { randomBytes } from 'node:crypto';
import { safeFolderName } from '../../src/modules/files/names';
import { CollabEnv, filesIn, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

/**
 * The pipeline waits this out once the lock is gone. Long enough that the busy share page and plays below finish
 * well within it even on a loaded machine, which is what tells them apart from plays that waited for the pause.
 */
const RETRY_AFTER_SECONDS = 4;

/**
 * Contention that isn't ours: a collaborator's desktop client writing into the shared collaboration folder holds
 * its namespace's write lock, so Dropbox answers our copies there with 429 too_many_write_operations and a long
 * Retry-After. Only writes to that folder wait: share pages, plays and downloads — and uploads to the producer's own
 * folders — go on as before (compared with a baseline in the same test), and the pipeline completes afterwards.
 */
describe('a busy collaboration folder (an outside writer holds its lock)', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    env = await startCollabEnv({
      env: { SPOOL_DIR: `/tmp/pd-contention-${process.pid}` },
      // Copy jobs polled every few milliseconds, not production's 100 ms doubling.
      tuning: { dropbox: { asyncPollFirstMs: 5, asyncPollMaxMs: 50 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  const recipient = () => env.t.client();
  /** Milliseconds for a share page view plus cold plays of `files` (each play asks Dropbox for a new link). */
  const serve = async (token: string, fileIds: string[]) => {
    const started = performance.now();
    const page = await recipient().get(`/s/${token}`);
    expect(page.status).toBe(200);
    for (const id of fileIds) {
      const play = await recipient().get(`/s/${token}/files/${id}/play`);
      expect(play.status).toBe(302);
    }
    return performance.now() - started;
  };

  it('keeps serving share pages and plays at their usual pace, and finishes the pipeline once the lock is gone', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 8, collaborators: [{}] });
    const share = await producer.api.post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: track.selection }],
      downloads: { stem: true },
    });
    expect(share.status).toBe(201);
    const token = new URL(share.body.url).pathname.split('/')[2];
    const library = (await producer.api.get(`/api/v1/tracks/${track.id}/library`)).body.items as Array<{
      id: string;
      name: string;
    }>;
    const fileIds = library.sort((a, b) => a.name.localeCompare(b.name)).map((i) => i.id);

    // The collaboration folder already shared (the pipeline reuses it), and a desktop client writing into it.
    const title = (await producer.api.get(`/api/v1/tracks/${track.id}`)).body.title as string;
    const folderPath = `/Producer Dashboard/Collaboration/${safeFolderName(title)} (${track.id.slice(0, 8)})`;
    const shared = (await producer.dbx.sharingShareFolder({ path: folderPath })).result as { shared_folder_id: string };
    const baseline = await serve(token, fileIds.slice(0, 4));

    const lock = emulator.control.holdNamespaceLock({
      shared_folder_id: shared.shared_folder_id,
      retry_after_seconds: RETRY_AFTER_SECONDS,
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const deadline = Date.now() + 30_000;
    while (!emulator.control.namespaceLocks().some((l) => l.id === lock.id && l.refused > 0)) {
      if (Date.now() > deadline) throw new Error('the pipeline never met the busy folder');
      await new Promise((r) => setTimeout(r, 50));
    }

    // While the folder is busy (the pipeline waits out its Retry-After): pages and cold plays as before.
    const busy = await serve(token, fileIds.slice(4, 8));
    const busyServedAt = Date.now();
    // An upload into the producer's own folder (another namespace) is stored meanwhile.
    const csrf = await producer.browser.csrfFrom('/settings');
    const upload = await producer.browser.agent
      .post(`/api/v1/tracks/${track.id}/uploads`)
      .set('X-CSRF-Token', csrf)
      .attach('files', randomBytes(2048), 'Meanwhile.wav');
    expect(upload.status).toBe(201);
    for (;;) {
      const row = (await producer.api.get(`/api/v1/uploads/${upload.body[0].id}`)).body as { status: string };
      if (row.status === 'done') break;
      if (Date.now() > deadline + 30_000) throw new Error(`upload stuck: ${JSON.stringify(row)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const stillHeld = emulator.control.namespaceLocks().some((l) => l.id === lock.id);
    expect(stillHeld).toBe(true);
    expect((await producer.api.get(`/api/v1/tracks/${track.id}/collaboration`)).body.status).toBe('running');
    // Before writes were paused per namespace, the first play waited the whole Retry-After: now the page and the
    // plays are served before the pause that the refused copy started has ended.
    expect(busy).toBeLessThan(baseline * 10);
    const refusal = emulator.control
      .callLog()
      .find((c) => c.route === 'files/copy_batch_v2' && c.status === 429 && c.accountId === producer.accountId);
    expect(refusal?.retryAfterMs).toBe(RETRY_AFTER_SECONDS * 1000);
    expect(busyServedAt).toBeLessThan(refusal!.endedAt + refusal!.retryAfterMs!);

    emulator.control.releaseNamespaceLock(lock.id);
    const view = await waitForCollab(producer, track.id, isFinal, 60_000);
    expect(view.status).toBe('done');
    expect(await filesIn(producer.dbx, folderPath)).toEqual(track.files.map((f) => `Stems/${f.name}`).sort());
    expect(view.invites.sent).toBe(1);
  });
});
