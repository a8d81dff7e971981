import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queues/queues';
import { eventually } from '../support/poll';
import {
  collabStatus,
  CollabEnv,
  connectedProducer,
  filesIn,
  isFinal,
  makeTrack,
  Producer,
  startCollabEnv,
  waitForCollab,
} from './collaboration-support';

/**
 * Share with collaborators against PostgreSQL, Redis and the Dropbox emulator (strict: overlapping writes of one
 * account would be refused): the whole pipeline, share with remaining, reset, member states, access removal.
 */
describe('share with collaborators', () => {
  let env: CollabEnv;
  let producer: Producer;

  beforeAll(async () => {
    env = await startCollabEnv();
    producer = env.producer;
  });
  afterAll(async () => {
    await env?.close();
  });

  it('creates the folder, copies the files and invites every collaborator with an email', async () => {
    const track = await makeTrack(producer, {
      files: 3,
      collaborators: [{ name: 'Ana' }, { name: 'Ben' }, { name: 'Cy', email: null }],
    });
    env.emulator.control.resetCounters();
    const started = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    expect(started.status).toBe(202);
    expect(['running', 'done']).toContain(started.body.status);

    const view = await waitForCollab(producer, track.id, isFinal);
    const counters = env.emulator.control.counters(); // before this test's own Dropbox calls below
    expect(view.status).toBe('done');
    expect(view.steps.map((s) => [s.key, s.state])).toEqual([
      ['folder', 'done'],
      ['files', 'done'],
      ['invites', 'done'],
      ['done', 'done'],
    ]);
    expect(view.files).toMatchObject({ total: 3, copied: 3, pending: 0, skipped: 0 });
    expect(view.invites).toMatchObject({ total: 2, sent: 2, pending: 2, joined: 0, noEmail: 1 });
    const states = Object.fromEntries(view.members.map((m) => [m.name, m.state]));
    expect(states).toEqual({ Ana: 'invited', Ben: 'invited', Cy: 'no_email' });
    expect(view.members.find((m) => m.name === 'Cy')!.stateLabel).toMatch(/no email/i);

    // In Dropbox: one shared folder with the three files and the two invitees.
    expect(view.folder!.path).toMatch(/^\/Producer Dashboard\/Collaboration\//);
    // Dropbox's web page of the folder: against the emulator, the emulator's own page of it (at Dropbox's path).
    expect(view.folder!.url).toMatch(new RegExp(`^${env.emulator.url}/scl/fo/\\d+$`));
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual([
      'Stems/stem-01.wav',
      'Stems/stem-02.wav',
      'Stems/stem-03.wav',
    ]);
    const meta = await producer.dbx.filesGetMetadata({ path: view.folder!.path });
    const sharedFolderId = (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info!
      .shared_folder_id;
    const members = await producer.dbx.sharingListFolderMembers({ shared_folder_id: sharedFolderId });
    expect(members.result.invitees.map((i) => (i.invitee as { email: string }).email).sort()).toEqual(
      track.collaborators
        .filter((c) => c.email)
        .map((c) => c.email)
        .sort(),
    );

    // The minimum: share 1 + copy 1 (+ polls) + list 1 + invite 1; writes one at a time.
    expect(counters.callsByRoute['sharing/share_folder']).toBe(1);
    expect(counters.callsByRoute['files/copy_batch_v2']).toBe(1);
    expect(counters.callsByRoute['sharing/list_folder_members']).toBe(1);
    expect(counters.callsByRoute['sharing/add_folder_member']).toBe(1);
    expect(counters.maxConcurrentWritesByAccount[producer.accountId]).toBe(1);
    expect(counters.rateLimited).toBe(0);
  });

  it('shows invites moving from pending to joined when collaborators accept (refresh on demand)', async () => {
    const track = await makeTrack(producer, { files: 1, collaborators: [{ name: 'Dee' }, { name: 'Eli' }] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    await waitForCollab(producer, track.id, isFinal);
    env.emulator.control.acceptInvites({ email: track.collaborators[0].email! });

    const refreshed = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/refresh`);
    expect(refreshed.status).toBe(200);
    expect(
      Object.fromEntries(refreshed.body.members.map((m: { name: string; state: string }) => [m.name, m.state])),
    ).toEqual({
      Dee: 'joined',
      Eli: 'invited',
    });
    expect(refreshed.body.invites).toMatchObject({ joined: 1, pending: 1 });
  });

  it('shares with remaining: new collaborators and newly selected files go to the same folder, nobody is invited twice', async () => {
    const track = await makeTrack(producer, { files: 3, collaborators: [{ name: 'Gus' }] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection.slice(0, 2) });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first.files).toMatchObject({ total: 2, copied: 2 });

    const made = await producer.api.post('/api/v1/collaborators', {
      name: 'Hal',
      email: 'hal-remaining@example.com',
      role: 'vocalist',
    });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaborators`, { collaboratorId: made.body.id });
    const before = await collabStatus(producer, track.id);
    expect(before.members.find((m) => m.name === 'Hal')!.state).toBe('not_invited');

    env.emulator.control.resetCounters();
    const again = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    expect(again.status).toBe(202);
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('done');
    expect(view.folder!.path).toBe(first.folder!.path);
    expect(view.files).toMatchObject({ total: 3, copied: 3 });
    expect(Object.fromEntries(view.members.map((m) => [m.name, m.state]))).toEqual({ Gus: 'invited', Hal: 'invited' });
    const counters = env.emulator.control.counters();
    expect(counters.callsByRoute['sharing/share_folder']).toBeUndefined(); // the folder step had nothing to do
    expect(counters.callsByRoute['files/copy_batch_v2']).toBe(1); // only the new file
    expect(counters.callsByRoute['sharing/add_folder_member']).toBe(1); // only Hal
    expect(await filesIn(producer.dbx, view.folder!.path)).toHaveLength(3);
  });

  it('records work asked for while a run is going and runs again when it ends', async () => {
    const track = await makeTrack(producer, { files: 2, collaborators: [{ name: 'Ivy' }] });
    env.emulator.control.updateSettings({ latencyMs: 150 });
    try {
      await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection.slice(0, 1) });
      const during = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      expect(during.status).toBe(202);
      const view = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.copied === 2);
      expect(view.status).toBe('done');
    } finally {
      env.emulator.control.updateSettings({ latencyMs: 0 });
    }
  });

  it('reset mid-flight stops the run, forgets its state and leaves the Dropbox folder; starting again reuses it', async () => {
    const track = await makeTrack(producer, { files: 2, collaborators: [{ name: 'Jo' }] });
    // Slow copies, so the reset lands while the files step runs.
    const slow = env.emulator.control.addFault({ route: 'files/copy_batch_v2', latencyMs: 1500 });
    try {
      await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      await waitForCollab(producer, track.id, (v) => v.step === 'files');
      const reset = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration/reset`);
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({ status: 'not_shared', folder: null, members: [], files: { total: 0 } });
    } finally {
      env.emulator.control.removeFault(slow.id);
    }
    // The interrupted job finishes its Dropbox call but changes nothing here: wait until no job is running.
    const queue = env.t.app.get<Queue>(getQueueToken(QueueName.Collaboration), { strict: false });
    await eventually(
      () => queue.getActiveCount(),
      (running) => running === 0,
      { what: 'the interrupted job has ended' },
    );
    const after = await collabStatus(producer, track.id);
    expect(after.status).toBe('not_shared');
    expect(after.members).toEqual([]);

    // Fresh start: same folder (Dropbox answers already_shared with its id), files and invite not duplicated.
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('done');
    expect(view.files).toMatchObject({ total: 2, copied: 2 });
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Stems/stem-01.wav', 'Stems/stem-02.wav']);
  });

  it('removes a collaborator’s access to the folder', async () => {
    const track = await makeTrack(producer, { files: 1, collaborators: [{ name: 'Kim' }, { name: 'Lou' }] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal);
    const kim = track.collaborators[0];
    env.emulator.control.acceptInvites({ email: kim.email! });

    const removed = await producer.api.del(`/api/v1/tracks/${track.id}/collaboration/members/${kim.id}`);
    expect(removed.status).toBe(200);
    const meta = await producer.dbx.filesGetMetadata({ path: view.folder!.path });
    const id = (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info!.shared_folder_id;
    const members = await producer.dbx.sharingListFolderMembers({ shared_folder_id: id });
    const emails = [
      ...members.result.users.map((u) => u.user.email),
      ...members.result.invitees.map((i) => (i.invitee as { email: string }).email),
    ];
    expect(emails).not.toContain(kim.email);
    expect(emails).toContain(track.collaborators[1].email);

    // Still on the track, so listed as not invited; a second removal is a 404.
    expect(removed.body.members.find((m: { name: string }) => m.name === 'Kim').state).toBe('not_invited');
    expect((await producer.api.del(`/api/v1/tracks/${track.id}/collaboration/members/${kim.id}`)).status).toBe(404);
  });

  describe('bad input and other owners', () => {
    it.each([
      [{ files: 'f:nonsense' }, /files: each item must be/],
      [{ files: [42] }, /files/],
      [{ files: [], accessLevel: 'owner' }, /accessLevel must be/],
      [{ files: [], extra: true }, /extra should not exist/],
    ])('answers 400 naming the field for %j', async (body, message) => {
      const track = await makeTrack(producer, { files: 0, collaborators: [{}] });
      const res = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, body);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
    });

    it('refuses a first start without files, and a track without collaborators, with 400', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const empty = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: [] });
      expect(empty.status).toBe(400);
      expect(empty.body.errors).toEqual([
        { field: 'files', message: expect.stringMatching(/select at least one file/) },
      ]);

      const lonely = await makeTrack(producer, { files: 1, collaborators: [] });
      const res = await producer.api.post(`/api/v1/tracks/${lonely.id}/collaboration`, { files: lonely.selection });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/no collaborators/);
    });

    it('refuses a file of another track (400) and retry/refresh of a pipeline that is not failed (409)', async () => {
      const a = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const b = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const res = await producer.api.post(`/api/v1/tracks/${a.id}/collaboration`, { files: b.selection });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('files');
      expect((await producer.api.post(`/api/v1/tracks/${a.id}/collaboration/retry`)).status).toBe(409);
      expect((await producer.api.post(`/api/v1/tracks/${a.id}/collaboration/refresh`)).status).toBe(409);
    });

    it('answers 404 for another producer’s track, on every route', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const other = await connectedProducer(env.t, env.emulator);
      const base = `/api/v1/tracks/${track.id}/collaboration`;
      expect((await other.api.get(base)).status).toBe(404);
      expect((await other.api.post(base, { files: track.selection })).status).toBe(404);
      expect((await other.api.post(`${base}/retry`)).status).toBe(404);
      expect((await other.api.post(`${base}/reset`)).status).toBe(404);
      expect((await other.api.post(`${base}/refresh`)).status).toBe(404);
      expect((await other.api.del(`${base}/members/${track.collaborators[0].id}`)).status).toBe(404);
      expect((await other.browser.get(`/tracks/${track.id}/collaboration`)).status).toBe(404);
      expect((await other.api.get(`/api/v1/tracks/not-a-uuid/collaboration`)).status).toBe(400);
    });

    it('needs the CSRF token for form posts and sign-in for the page', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const noToken = await producer.browser.agent
        .post(`/tracks/${track.id}/collaboration`)
        .type('form')
        .send({ files: track.selection[0] });
      expect(noToken.status).toBe(403);
      const anonymous = await env.t.client().get(`/tracks/${track.id}/collaboration`);
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.location).toMatch(/^\/login/);
    });
  });

  describe('the status panel (HTML forms)', () => {
    it('starts from the Share tab form (ignoring its share-link fields) and shows the panel', async () => {
      const track = await makeTrack(producer, {
        files: 2,
        collaborators: [{ name: 'Max' }, { name: 'Noor', email: null }],
      });
      const page = `/tracks/${track.id}/collaboration`;
      const before = await producer.browser.get(page);
      expect(before.status).toBe(200);
      expect(before.text).toMatch(/not shared with its collaborators/);

      const posted = await producer.browser.submit(page, page, {
        files: track.selection as unknown as string,
        expiry: '30d',
        title: 'ignored',
        download_stem: 'on',
      });
      expect(posted.status).toBe(303);
      expect(posted.headers.location).toBe(page);
      await waitForCollab(producer, track.id, isFinal);
      const after = await producer.browser.get(page);
      expect(after.text).toMatch(/data-collab-status[^>]*>Done</);
      expect(after.text).toMatch(/files 2\/2/);
      expect(after.text).toMatch(/invites 1\/1/);
      expect(after.text).toMatch(/Open in Dropbox/);
      // Against the emulator (tests, the demo) that link opens the emulator's page of the folder, listing its files.
      const openIn = /<a href="([^"]+)"[^>]*>Open in Dropbox<\/a>/.exec(after.text)![1].replace(/&#x3D;/g, '=');
      const folderPage = await fetch(openIn);
      expect(folderPage.status).toBe(200);
      expect(await folderPage.text()).toMatch(/Stems/);
      expect(after.text).toMatch(/can always download/);
      expect(after.text).toMatch(/No email on file/);
      expect(after.text).not.toMatch(/http-equiv="refresh"/); // only while running

      // Irreversible actions ask first, on a page of their own (no JavaScript needed); unconfirmed, nothing changes.
      const max = (await collabStatus(producer, track.id)).members.find((m: { name: string }) => m.name === 'Max') as {
        collaboratorId: string;
      };
      const removeAsked = await producer.browser.submit(page, `${page}/members/${max.collaboratorId}/remove`, {});
      expect(removeAsked.status).toBe(200);
      expect(removeAsked.text).toContain('Remove their access?');
      expect(removeAsked.text).toContain('Max is removed from the shared Dropbox folder');
      const resetAsked = await producer.browser.submit(page, `${page}/reset`, {});
      expect(resetAsked.status).toBe(200);
      expect(resetAsked.text).toContain('Reset sharing with collaborators?');
      expect(resetAsked.text).toContain(`action="${page}/reset"`);
      expect((await collabStatus(producer, track.id)).status).toBe('done');

      const reset = await producer.browser.submit(page, `${page}/reset`, { confirm: 'yes' });
      expect(reset.status).toBe(303);
      const flash = await producer.browser.get(page);
      expect(flash.text).toMatch(/left as they are/);
    });

    it('answers a bad form with a 400 page naming the field', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const page = `/tracks/${track.id}/collaboration`;
      const res = await producer.browser.submit(page, page, { files: '../../etc/passwd' });
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/files: each item must be/);
      expect(res.text).not.toMatch(/\n\s+at /);
    });
  });
});

describe('share with collaborators: scheduled refresh', () => {
  let env: CollabEnv;
  beforeAll(async () => {
    // Member states are refreshed every second (below COLLAB_REFRESH_SECONDS's 5 s minimum), and the sweep runs
    // as often.
    env = await startCollabEnv({ tuning: { collaboration: { refreshMs: 1_000 } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('refreshes member states on a schedule (a BullMQ job scheduler), without anyone asking', async () => {
    const producer = env.producer;
    const track = await makeTrack(producer, { files: 1, collaborators: [{ name: 'Fay' }] });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    await waitForCollab(producer, track.id, isFinal);
    env.emulator.control.acceptInvites({ email: track.collaborators[0].email! });
    const view = await waitForCollab(producer, track.id, (v) => v.members[0]?.state === 'joined', 25_000);
    expect(view.invites.joined).toBe(1);
    expect(view.membersRefreshedAt).not.toBeNull();
  });
});
