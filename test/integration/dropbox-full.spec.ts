import { randomBytes } from 'node:crypto';
import { access, readdir } from 'node:fs/promises';
import { MikroORM } from '@mikro-orm/postgresql';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { CollabEnv, filesIn, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

const KiB = 1024;
const MiB = 1024 * KiB;
const FULL = /^Your Dropbox is full \(\d+(\.\d)? [KMG]B of \d+(\.\d)? [KMG]B used\): free some space, then Retry$/;

interface UploadRow {
  id: string;
  fileName: string;
  status: string;
  error: string | null;
}

/**
 * Every way Dropbox refuses `files/upload` (its UploadWriteFailed error carries the reason beside the tag), and a
 * full Dropbox seen by the producer on the upload row, the collaboration panel and the Share tab — with the upload
 * kept on the server until Retry (which succeeds once space is freed) or Discard.
 */
describe('Dropbox refusing uploads: a full Dropbox, refused names, races and lock contention', () => {
  let env: CollabEnv;
  let spoolDir: string;

  beforeAll(async () => {
    spoolDir = `/tmp/pd-full-${process.pid}`;
    env = await startCollabEnv({
      emulator: { strict: false },
      env: { SPOOL_DIR: spoolDir, MAX_UPLOAD_MB: '16', DROPBOX_UPLOAD_CHUNK_MIB: '4' },
      // Lock contention without a Retry-After is waited out for 50 ms, not Dropbox's usual second, and the copy
      // jobs are polled every few milliseconds.
      tuning: { dropbox: { defaultRetryAfterMs: 50, asyncPollFirstMs: 5, asyncPollMaxMs: 50 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  const uploadFiles = async (trackId: string, files: Array<[Buffer, string]>) => {
    const csrf = await env.producer.browser.csrfFrom('/settings');
    let req = env.producer.browser.agent
      .post(`/api/v1/tracks/${trackId}/uploads`)
      .set('X-CSRF-Token', csrf)
      .field('category', 'bounce');
    for (const [bytes, name] of files) req = req.attach('files', bytes, name);
    const res = await req;
    expect(res.status).toBe(201);
    return res.body as UploadRow[];
  };
  const uploads = async (trackId: string) =>
    (await env.producer.api.get(`/api/v1/tracks/${trackId}/uploads`)).body as UploadRow[];
  const settled = async (trackId: string, ids: string[]) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = (await uploads(trackId)).filter((u) => ids.includes(u.id));
      if (rows.length === ids.length && rows.every((u) => u.status === 'done' || u.status === 'failed')) return rows;
      if (Date.now() > deadline) throw new Error(`uploads did not settle: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const quota = (bytes: number | null) =>
    env.emulator.control.setQuota({ account_id: env.producer.accountId, quota_bytes: bytes });
  const spooled = async (uploadId: string) => {
    const row = await env.t.app.get(MikroORM).em.fork().findOne(Upload, { id: uploadId });
    return row
      ? access(row.spoolPath).then(
          () => true,
          () => false,
        )
      : false;
  };

  it('a full Dropbox: the upload row, the Share tab and the collaboration panel say so; Retry stores the kept file once space is freed', async () => {
    const track = await makeTrack(env.producer, { files: 2, fileBytes: 64 * KiB });
    const used = env.emulator.control.space({ account_id: env.producer.accountId }).used;
    quota(used + 32 * KiB);

    // One small file (files/upload) and one in an upload session (finish refuses it), both past the quota.
    const small = randomBytes(100 * KiB);
    const large = randomBytes(5 * MiB);
    const sent = await uploadFiles(track.id, [
      [small, 'Mix small.wav'],
      [large, 'Mix large.wav'],
    ]);
    const failed = await settled(
      track.id,
      sent.map((u) => u.id),
    );
    for (const row of failed) {
      expect(row.status).toBe('failed');
      expect(row.error).toMatch(FULL);
      expect(await spooled(row.id)).toBe(true); // kept for Retry
    }
    const page = await env.producer.browser.get(`/tracks/${track.id}`);
    expect(page.text).toMatch(/Your Dropbox is full \([^)]+\): free some space, then Retry/);
    const shareTab = await env.producer.browser.get(`/tracks/${track.id}/share`);
    expect(shareTab.status).toBe(200);
    expect(shareTab.text).toMatch(/data-storage-full>Your Dropbox is full \([^)]+\): free some space, then Retry/);

    // The collaboration pipeline's copies are refused (insufficient_quota) and the panel says why.
    await env.producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const collab = await waitForCollab(env.producer, track.id, isFinal);
    expect(collab.status).toBe('failed');
    expect(collab.error).toEqual({ code: 'insufficient_space', message: expect.stringMatching(FULL) });
    const panel = await env.producer.browser.get(`/tracks/${track.id}/collaboration`);
    expect(panel.text).toMatch(
      /data-collab-error="insufficient_space">Your Dropbox is full \([^)]+\): free some space/,
    );

    // Space freed (a bigger plan): Retry stores each file once, the pipeline finishes, the banner goes.
    quota(null);
    for (const row of failed) expect((await env.producer.api.post(`/api/v1/uploads/${row.id}/retry`)).status).toBe(200);
    const done = await settled(
      track.id,
      failed.map((u) => u.id),
    );
    expect(done.map((u) => u.status)).toEqual(['done', 'done']);
    const stored = await filesIn(env.producer.dbx, `${track.folderPath}/Bounces`);
    expect(stored).toEqual(['Mix large.wav', 'Mix small.wav']);
    expect(await env.producer.api.post(`/api/v1/tracks/${track.id}/collaboration/retry`)).toMatchObject({
      status: 202,
    });
    expect((await waitForCollab(env.producer, track.id, isFinal)).status).toBe('done');
    expect((await env.producer.browser.get(`/tracks/${track.id}/share`)).text).not.toContain('data-storage-full');
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('Discard deletes a failed upload and the file it kept; only failed uploads can be discarded', async () => {
    const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
    quota(env.emulator.control.space({ account_id: env.producer.accountId }).used);
    const [row] = await uploadFiles(track.id, [[randomBytes(10 * KiB), 'Too much.wav']]);
    const [failed] = await settled(track.id, [row.id]);
    expect(failed.error).toMatch(FULL);
    quota(null);
    expect((await env.producer.api.del(`/api/v1/uploads/${row.id}`)).status).toBe(200);
    expect(await uploads(track.id)).toEqual([]);
    expect(await readdir(spoolDir)).toEqual([]);
    expect((await env.producer.api.del(`/api/v1/uploads/${row.id}`)).status).toBe(404);
    const [ok] = await uploadFiles(track.id, [[randomBytes(KiB), 'Fine.wav']]);
    await settled(track.id, [ok.id]);
    const refused = await env.producer.api.del(`/api/v1/uploads/${ok.id}`);
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
  });

  it('two uploads racing for one name: the one that loses takes the next free name', async () => {
    const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
    const path = `${track.folderPath}/Bounces/Take.wav`;
    // Hold our upload inside Dropbox, store someone else's file under its name meanwhile, then let it go on.
    const hold = env.emulator.control.addFault({
      route: 'files/upload',
      accountId: env.producer.accountId,
      hold: true,
      times: 1,
    });
    const [row] = await uploadFiles(track.id, [[randomBytes(2 * KiB), 'Take.wav']]);
    await env.emulator.control.heldCall(hold.id);
    await env.producer.dbx.filesUpload({ path, contents: Buffer.from('the other upload') });
    env.emulator.control.releaseFault(hold.id);
    const [done] = await settled(track.id, [row.id]);
    expect(done.status).toBe('done');
    expect(await filesIn(env.producer.dbx, `${track.folderPath}/Bounces`)).toEqual(['Take (2).wav', 'Take.wav']);
    const refusedCall = env.emulator.control
      .callLog()
      .find((c) => c.route === 'files/upload' && c.status === 409 && c.accountId === env.producer.accountId);
    expect(refusedCall).toBeDefined();
  });

  it.each([
    ['path/disallowed_name', /Dropbox does not accept files named “Odd.wav”/],
    ['path/malformed_path', /Dropbox does not accept the name “Odd.wav” \(a name may not end in a space/],
  ])(
    '%s on files/upload fails the upload with the reason in words, once, and keeps the file',
    async (errorTag, message) => {
      const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
      env.emulator.control.resetCounters();
      env.emulator.control.addFault({ route: 'files/upload', accountId: env.producer.accountId, errorTag, times: 1 });
      const [row] = await uploadFiles(track.id, [[randomBytes(KiB), 'Odd.wav']]);
      const [failed] = await settled(track.id, [row.id]);
      expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(message) });
      expect(env.emulator.control.counters().callsByRoute['files/upload']).toBe(1); // permanent: not retried
      expect(await spooled(row.id)).toBe(true);
      expect((await env.producer.api.del(`/api/v1/uploads/${row.id}`)).status).toBe(200);
    },
  );

  it('too_many_write_operations on files/upload is waited out and retried: the file is stored once', async () => {
    const track = await makeTrack(env.producer, { files: 0, collaborators: [] });
    env.emulator.control.addFault({
      route: 'files/upload',
      accountId: env.producer.accountId,
      errorTag: 'path/too_many_write_operations',
      times: 2,
    });
    const [row] = await uploadFiles(track.id, [[randomBytes(KiB), 'Busy.wav']]);
    const [done] = await settled(track.id, [row.id]);
    expect(done.status).toBe('done');
    expect(await filesIn(env.producer.dbx, `${track.folderPath}/Bounces`)).toEqual(['Busy.wav']);
  });
});
