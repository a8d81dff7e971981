import { randomBytes } from 'node:crypto';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { emulatorDropboxClient } from '../../tools/dropbox-emulator';
import type { TestApp } from '../support/app';
import { seedConnection } from '../support/dropbox';
import { signedInUser } from '../support/users';
import {
  apiOf,
  CollabEnv,
  connectedProducer,
  filesIn,
  isFinal,
  makeTrack,
  Producer,
  startCollabEnv,
  waitForCollab,
} from './collaboration-support';

/** A producer connected to an account the test registered itself (a team member). */
async function connectedTeamProducer(t: TestApp, emulator: RunningDropboxEmulator, email: string): Promise<Producer> {
  const user = await signedInUser(t);
  await seedConnection(t, emulator, user, { email });
  const account = emulator.control.accounts().find((a) => a.email === email)!;
  const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email }).access_token);
  return { ...user, dropboxEmail: email, accountId: account.account_id, dbx, api: apiOf(user) };
}

/**
 * One app and emulator for the whole file: each block's producer has an account of its own, and every check of
 * the call log is about that account. Copy jobs are polled every few milliseconds (production: 100 ms doubling).
 */
let env: CollabEnv;

beforeAll(async () => {
  env = await startCollabEnv({
    env: { SPOOL_DIR: `/tmp/pd-unreachable-${process.pid}` },
    tuning: { dropbox: { asyncPollFirstMs: 5, asyncPollMaxMs: 50 } },
  });
});
afterAll(async () => {
  await env?.close();
});

/**
 * Folders that move: the collaboration pipeline finds its shared folder by its shared_folder_id, so a producer who
 * renames or moves it in Dropbox keeps sharing into it — never a new, unshared folder at the old path.
 */
describe('a shared collaboration folder moved or renamed in Dropbox', () => {
  it('"share with remaining" puts new files into the folder where it is now', async () => {
    const { producer } = env;
    const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first.status).toBe('done');
    const oldPath = first.folder!.path;

    await producer.dbx.filesMoveV2({ from_path: oldPath, to_path: '/Sessions/Our Session' });
    const added = await producer.dbx.filesUpload({
      path: `${track.folderPath}/Stems/late-vocal.wav`,
      contents: randomBytes(1024),
    });
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: [`d:${added.result.id}`] })).status,
    ).toBe(202);
    const second = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.total === 3);
    expect(second.status).toBe('done');
    expect(second.folder!.path).toBe('/Sessions/Our Session');
    expect(await filesIn(producer.dbx, '/Sessions/Our Session')).toEqual(
      [...track.files.map((f) => `Stems/${f.name}`), 'Stems/late-vocal.wav'].sort(),
    );
    await expect(producer.dbx.filesGetMetadata({ path: oldPath })).rejects.toMatchObject({ status: 409 });
  });

  it('a shared folder moved into a team space reads "folder not reachable" and nothing is copied; Retry copies once it is back', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first.status).toBe('done');
    const folderPath = first.folder!.path;

    emulator.control.setFolderMounted({ account_id: producer.accountId, path: folderPath, mounted: false });
    const writes = () => emulator.control.callLog().filter((c) => c.accountId === producer.accountId && c.write).length;
    const writesBefore = writes();
    const added = await producer.dbx.filesUpload({
      path: `${track.folderPath}/Stems/late-vocal.wav`,
      contents: randomBytes(1024),
    });
    const writesAfterUpload = writes();
    expect(writesAfterUpload).toBe(writesBefore + 1);
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: [`d:${added.result.id}`] })).status,
    ).toBe(202);
    const stuck = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.total === 2);
    expect(stuck.status).toBe('failed');
    expect(stuck.error).toMatchObject({
      code: 'folder_not_reachable',
      message: expect.stringContaining('folder not reachable'),
    });
    // Nothing written: no copy, and no new folder where it used to be.
    expect(writes()).toBe(writesAfterUpload);
    await expect(producer.dbx.filesGetMetadata({ path: folderPath })).rejects.toMatchObject({ status: 409 });

    emulator.control.setFolderMounted({ account_id: producer.accountId, path: folderPath, mounted: true });
    expect((await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/retry`)).status).toBeLessThan(300);
    const done = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.copied === 2);
    expect(done.status).toBe('done');
    expect(await filesIn(producer.dbx, folderPath)).toEqual(
      [...track.files.map((f) => `Stems/${f.name}`), 'Stems/late-vocal.wav'].sort(),
    );
  });
});

describe('a track folder moved outside the mounted tree (a team space)', () => {
  let producer: Producer;

  beforeAll(async () => {
    producer = await connectedProducer(env.t, env.emulator);
  });

  it('an upload reads "folder not reachable" and writes nothing; Retry stores it once the folder is back', async () => {
    const { emulator } = env;
    const track = await makeTrack(producer, { files: 0, collaborators: [] });
    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: false });
    const csrf = await producer.browser.csrfFrom('/settings');
    const sent = await producer.browser.agent
      .post(`/api/v1/tracks/${track.id}/uploads`)
      .set('X-CSRF-Token', csrf)
      .attach('files', randomBytes(1024), 'Mix.wav');
    expect(sent.status).toBe(201);
    const id = sent.body[0].id as string;
    const settle = async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const row = (await producer.api.get(`/api/v1/uploads/${id}`)).body as { status: string; error: string | null };
        if (row.status === 'done' || row.status === 'failed') return row;
        if (Date.now() > deadline) throw new Error(`upload stuck: ${JSON.stringify(row)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const failed = await settle();
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringContaining('folder not reachable') });
    await expect(producer.dbx.filesGetMetadata({ path: '/Bounces' })).rejects.toMatchObject({ status: 409 });
    expect(
      emulator.control.callLog().some((c) => c.accountId === producer.accountId && c.route.startsWith('files/upload')),
    ).toBe(false);

    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: true });
    expect((await producer.api.post(`/api/v1/uploads/${id}/retry`)).status).toBe(200);
    expect((await settle()).status).toBe('done');
    expect(await filesIn(producer.dbx, track.folderPath)).toEqual(['Bounces/Mix.wav']);
  });

  it('a replacing upload (a new version of a file there) reads "folder not reachable" and writes nothing', async () => {
    const { emulator } = env;
    const track = await makeTrack(producer, { files: 0, collaborators: [] });
    const { result } = await producer.dbx.filesUpload({
      path: `${track.folderPath}/Bounces/Mix.wav`,
      contents: randomBytes(1024),
    });
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/library/import`, { dropboxIds: [result.id] })).status,
    ).toBeLessThan(300);
    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: false });
    const uploadsBefore = emulator.control
      .callLog()
      .filter((c) => c.accountId === producer.accountId && c.route.startsWith('files/upload')).length;
    const csrf = await producer.browser.csrfFrom('/settings');
    const sent = await producer.browser.agent
      .post(`/api/v1/tracks/${track.id}/uploads`)
      .set('X-CSRF-Token', csrf)
      .field('category', 'bounce')
      .field('conflict', 'replace')
      .attach('files', randomBytes(2048), 'Mix.wav');
    expect(sent.status).toBe(201);
    const id = sent.body[0].id as string;
    const deadline = Date.now() + 20_000;
    let row: { status: string; error: string | null };
    for (;;) {
      row = (await producer.api.get(`/api/v1/uploads/${id}`)).body as { status: string; error: string | null };
      if (row.status === 'done' || row.status === 'failed' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ status: 'failed', error: expect.stringContaining('folder not reachable') });
    expect(
      emulator.control.callLog().filter((c) => c.accountId === producer.accountId && c.route.startsWith('files/upload'))
        .length,
    ).toBe(uploadsBefore);
    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: true });
    expect((await producer.dbx.filesGetMetadata({ path: `${track.folderPath}/Bounces/Mix.wav` })).result).toMatchObject(
      { size: 1024 },
    );
  });

  it('moving a file to another category reads "folder not reachable" and moves nothing (never into /Stems at the root)', async () => {
    const { emulator } = env;
    const track = await makeTrack(producer, { files: 0, collaborators: [] });
    const { result } = await producer.dbx.filesUpload({
      path: `${track.folderPath}/Bounces/Take.wav`,
      contents: randomBytes(1024),
    });
    const imported = await producer.api.post(`/api/v1/tracks/${track.id}/library/import`, { dropboxIds: [result.id] });
    expect(imported.status).toBeLessThan(300);
    const file = (imported.body as Array<{ id: string; name: string }>).find((f) => f.name === 'Take.wav')!;
    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: false });
    const res = await producer.api.patch(`/api/v1/tracks/${track.id}/files/${file.id}`, { category: 'stem' });
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('folder not reachable');
    await expect(producer.dbx.filesGetMetadata({ path: '/Stems' })).rejects.toMatchObject({ status: 409 });
    expect(
      emulator.control.callLog().some((c) => c.accountId === producer.accountId && c.route === 'files/move_v2'),
    ).toBe(false);
    emulator.control.setFolderMounted({ account_id: producer.accountId, path: track.folderPath, mounted: true });
    expect(await filesIn(producer.dbx, track.folderPath)).toEqual(['Bounces/Take.wav']);
  });
});

describe('a Dropbox Business account whose team keeps sharing inside the team', () => {
  it('invites the team members and refuses only the people outside the team, in words', async () => {
    const { t, emulator } = env;
    const email = `lead-${randomBytes(3).toString('hex')}@studio.example`;
    emulator.control.registerAccount({ email, team_id: 'dbtid:studio', cant_share_outside_team: true });
    emulator.control.registerAccount({ email: 'mix@studio.example', team_id: 'dbtid:studio' });
    const producer = await connectedTeamProducer(t, emulator, email);
    const track = await makeTrack(producer, {
      files: 1,
      collaborators: [
        { name: 'Mix', email: 'mix@studio.example' },
        { name: 'Fan', email: 'fan@example.com' },
      ],
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(Object.fromEntries(view.members.map((m) => [m.name, m.state]))).toEqual({ Fan: 'failed', Mix: 'invited' });
    expect(view.members.find((m) => m.name === 'Fan')!.error).toMatch(
      /team does not allow sharing folders with people outside the team/,
    );
  });

  it("a team whose policy keeps shared folders among teammates: the folder is shared on the team's terms, teammates invited, outsiders refused in words", async () => {
    const { t, emulator } = env;
    const email = `lead-${randomBytes(3).toString('hex')}@closed.example`;
    emulator.control.registerAccount({ email, team_id: 'dbtid:closed', shared_folder_member_policy: 'team' });
    emulator.control.registerAccount({ email: 'keys@closed.example', team_id: 'dbtid:closed' });
    const producer = await connectedTeamProducer(t, emulator, email);
    const track = await makeTrack(producer, {
      files: 1,
      collaborators: [
        { name: 'Keys', email: 'keys@closed.example' },
        { name: 'Guest', email: 'guest@example.com' },
      ],
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.folder?.path).toBeTruthy();
    expect(view.files).toMatchObject({ total: 1, copied: 1 });
    expect(Object.fromEntries(view.members.map((m) => [m.name, m.state]))).toEqual({
      Guest: 'failed',
      Keys: 'invited',
    });
    expect(view.members.find((m) => m.name === 'Guest')!.error).toMatch(
      /team does not allow sharing folders with people outside the team/,
    );
    // Asked open to anyone first, refused by the team's policy, then shared once on the team's terms.
    const shares = emulator.control
      .callLog()
      .filter((c) => c.accountId === producer.accountId && c.route === 'sharing/share_folder');
    expect(shares.map((c) => c.status)).toEqual([409, 200]);
  });
});
