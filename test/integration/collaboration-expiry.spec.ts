import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { QueueName } from '../../src/queues/queues';
import { CollaborationClock } from '../../src/modules/collaboration/collaboration-clock';
import { seedConnection } from '../support/dropbox';
import {
  collabStatus,
  CollabEnv,
  connectedProducer,
  filesIn,
  isFinal,
  makeTrack,
  Producer,
  startCollabEnv,
  TestTrack,
  waitForCollab,
} from './collaboration-support';

const DAY = 24 * 3600_000;

/**
 * A collaborator share's settings against PostgreSQL, Redis and the Dropbox emulator: its end removes the invited
 * collaborators from the folder (the scheduled sweep finds it due by the injected clock: nobody waits days),
 * Extend invites them again, and categories whose downloads are off stay out of the folder unless chosen.
 */
describe('collaborator shares: expiry and download permissions', () => {
  let env: CollabEnv;
  let producer: Producer;
  let clock: CollaborationClock;

  beforeAll(async () => {
    // Member states are refreshed every 5 s, and the sweep (which also finds shares whose end came) runs every
    // half second, so an end is carried out soon after it comes.
    env = await startCollabEnv({
      env: { COLLAB_REFRESH_SECONDS: '5' },
      tuning: { collaboration: { maxSweepIntervalMs: 500 } },
    });
    producer = env.producer;
    clock = env.t.app.get(CollaborationClock);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await env?.close();
  });

  const base = (track: { id: string }) => `/api/v1/tracks/${track.id}/collaboration`;
  const sharedFolderId = async (path: string) => {
    const meta = await producer.dbx.filesGetMetadata({ path });
    return (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info?.shared_folder_id;
  };
  const membersIn = async (id: string) => {
    const { result } = await producer.dbx.sharingListFolderMembers({ shared_folder_id: id });
    return {
      users: result.users
        .map((u) => u.user.email)
        .filter((e) => e !== producer.dropboxEmail)
        .sort(),
      invitees: result.invitees.map((i) => (i.invitee as { email: string }).email).sort(),
    };
  };
  const calls = (route: string) => env.emulator.control.callLog().filter((c) => c.route === route);

  async function sharedTrack(
    spec: { collaborators?: number; expiry?: string } = {},
  ): Promise<{ track: TestTrack; folder: string; id: string }> {
    const track = await makeTrack(producer, {
      files: 2,
      collaborators: Array.from({ length: spec.collaborators ?? 3 }, () => ({})),
    });
    const started = await producer.api.post(base(track), { files: track.selection, expiry: spec.expiry ?? '7d' });
    expect(started.status).toBe(202);
    const view = await waitForCollab(producer, track.id, isFinal);
    expect(view.status).toBe('done');
    return { track, folder: view.folder!.path, id: (await sharedFolderId(view.folder!.path))! };
  }

  it('at its end removes every collaborator, joined and pending, with one remove call each, and the panel says so', async () => {
    const { track, folder, id } = await sharedTrack({ collaborators: 3, expiry: '7d' });
    env.emulator.control.acceptInvites({ email: track.collaborators[0].email! });
    const before = await collabStatus(producer, track.id);
    expect(new Date(before.expiresAt!).getTime() - Date.now()).toBeGreaterThan(7 * DAY - 60_000);
    expect(before.access).toMatchObject({ state: 'open', endingSoon: false, canEndNow: true });
    const page = `/tracks/${track.id}/collaboration`;
    expect((await producer.browser.get(page)).text).toMatch(/Access ends on \d{1,2} \w+ \d{4}/);
    expect(await membersIn(id)).toEqual({
      users: [track.collaborators[0].email],
      invitees: [track.collaborators[1].email, track.collaborators[2].email].sort(),
    });

    // Two days before: the panel warns (there is no email notice).
    jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + 5 * DAY));
    expect((await collabStatus(producer, track.id)).access.endingSoon).toBe(true);
    expect((await producer.browser.get(page)).text).toMatch(/ends in less than 3 days/);

    env.emulator.control.resetCounters();
    jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + 7 * DAY + 60_000));
    const ended = await waitForCollab(producer, track.id, (v) => v.access.state === 'ended', 40_000);
    expect(ended.members.map((m) => m.state)).toEqual(['removed', 'removed', 'removed']);
    expect(ended.access.label).toMatch(/^Access ended \d{1,2} \w+ \d{4}$/);
    expect(ended.accessEndedAt).not.toBeNull();
    expect(calls('sharing/remove_folder_member').map((c) => c.status)).toEqual([200, 200, 200]);
    expect(await membersIn(id)).toEqual({ users: [], invitees: [] });
    // The folder and its files stay in the producer's Dropbox.
    expect(await filesIn(producer.dbx, folder)).toEqual(['Stems/stem-01.wav', 'Stems/stem-02.wav']);
    const html = (await producer.browser.get(page)).text;
    expect(html).toMatch(/Access ended \d{1,2} \w+ \d{4}/);
    expect(html).toMatch(/Access ended \(removed from the folder\)/);
    expect(html).toMatch(/>Extend</);
    expect(html).not.toMatch(/End access now/);
    expect(html).not.toMatch(/>Share with remaining</);
    expect(ended).toMatchObject({ canStart: false, canRetry: false });

    // Nothing more happens on later sweeps; starting again is refused until the share is extended.
    const again = await producer.api.post(base(track), { files: track.selection });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/access ended/);
    expect((await producer.api.post(`${base(track)}/retry`)).status).toBe(409);
  });

  it('End access now, then Extend: each removed collaborator is invited again once, and the new end is from today', async () => {
    const { track, id } = await sharedTrack({ collaborators: 3, expiry: 'never' });
    expect((await collabStatus(producer, track.id)).expiresAt).toBeNull();
    env.emulator.control.acceptInvites({ email: track.collaborators[1].email! });

    env.emulator.control.resetCounters();
    const endNow = await producer.api.patch(base(track), { expiry: 'now' });
    expect(endNow.status).toBe(200);
    await waitForCollab(producer, track.id, (v) => v.access.state === 'ended', 30_000);
    expect(calls('sharing/remove_folder_member')).toHaveLength(3);
    expect(await membersIn(id)).toEqual({ users: [], invitees: [] });
    expect((await producer.api.patch(base(track), { expiry: 'now' })).status).toBe(409);

    env.emulator.control.resetCounters();
    const extended = await producer.api.patch(base(track), { expiry: '30d' });
    expect(extended.status).toBe(200);
    expect(new Date(extended.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(30 * DAY - 60_000);
    const view = await waitForCollab(
      producer,
      track.id,
      (v) => isFinal(v) && v.members.every((m) => m.state === 'invited'),
    );
    expect(view.status).toBe('done');
    expect(view.access).toMatchObject({ state: 'open', label: expect.stringMatching(/^Access ends on /) });
    expect(calls('sharing/add_folder_member').map((c) => c.status)).toEqual([200]);
    expect(calls('sharing/share_folder')).toHaveLength(0);
    expect(calls('files/copy_batch_v2')).toHaveLength(0);
    expect(await membersIn(id)).toEqual({ users: [], invitees: track.collaborators.map((c) => c.email!).sort() });
  });

  it('when Dropbox refuses (the connection was revoked), the panel says why access could not be ended; End access now tries again', async () => {
    const other = await connectedProducer(env.t, env.emulator);
    const track = await makeTrack(other, { files: 1, collaborators: [{}, {}] });
    await other.api.post(base(track), { files: track.selection, expiry: '30d' });
    const view = await waitForCollab(other, track.id, isFinal);
    expect(view.status).toBe('done');
    env.emulator.control.revokeTokens({ account_id: other.accountId });
    expect((await other.api.patch(base(track), { expiry: 'now' })).status).toBe(200);
    const refused = await waitForCollab(other, track.id, (v) => v.access.error !== null, 30_000);
    expect(refused.access).toMatchObject({
      state: 'ending',
      canEndNow: true,
      error: expect.stringMatching(
        /^Access could not be ended: Your Dropbox connection has expired or was revoked\. Reconnect Dropbox in Settings\. Press End access now/,
      ),
    });
    expect((await other.browser.get(`/tracks/${track.id}/collaboration`)).text).toMatch(/data-collab-expiry-error/);

    await seedConnection(env.t, env.emulator, other, { email: other.dropboxEmail });
    expect((await other.api.patch(base(track), { expiry: 'now' })).status).toBe(200);
    const ended = await waitForCollab(other, track.id, (v) => v.access.state === 'ended', 30_000);
    expect(ended.access.error).toBeNull();
    expect(ended.members.map((m) => m.state)).toEqual(['removed', 'removed']);
  });

  it('the panel’s End access now and Extend forms (CSRF-protected) do the same, and a bad choice is a 400 page', async () => {
    const { track } = await sharedTrack({ collaborators: 1, expiry: '90d' });
    const page = `/tracks/${track.id}/collaboration`;
    expect((await producer.browser.agent.post(`${page}/expiry`).type('form').send({ expiry: 'now' })).status).toBe(403);
    const endNow = await producer.browser.submit(page, `${page}/expiry`, { expiry: 'now' });
    expect(endNow.status).toBe(303);
    expect((await producer.browser.get(page)).text).toMatch(/Ending access: the collaborators are being removed/);
    await waitForCollab(producer, track.id, (v) => v.access.state === 'ended', 30_000);
    const bad = await producer.browser.submit(page, `${page}/expiry`, { expiry: '5d' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/expiry must be one of/);
    const extend = await producer.browser.submit(page, `${page}/expiry`, { expiry: '7d' });
    expect(extend.status).toBe(303);
    expect((await producer.browser.get(page)).text).toMatch(
      /Access now ends on .* The collaborators removed when access ended are being invited again/,
    );
    const view = await waitForCollab(
      producer,
      track.id,
      (v) => isFinal(v) && v.members.every((m) => m.state === 'invited'),
    );
    expect(view.expiry).toBe('7d');
  });

  it('never tries to remove the folder’s owner (a collaborator with the producer’s own address)', async () => {
    const track = await makeTrack(producer, { files: 1, collaborators: [{ email: producer.dropboxEmail }, {}] });
    await producer.api.post(base(track), { files: track.selection, expiry: '30d' });
    await waitForCollab(producer, track.id, isFinal);
    await producer.api.post(`${base(track)}/refresh`);
    env.emulator.control.resetCounters();
    await producer.api.patch(base(track), { expiry: 'now' });
    const ended = await waitForCollab(producer, track.id, (v) => v.access.state === 'ended', 30_000);
    expect(ended.access.error).toBeNull();
    expect(calls('sharing/remove_folder_member').map((c) => c.status)).toEqual([200]);
  });

  it('Reset clears the settings; retry and share with remaining keep them', async () => {
    const track = await makeTrack(producer, { files: 3, collaborators: [{}] });
    await producer.api.post(base(track), {
      files: track.selection.slice(0, 1),
      expiry: '90d',
      downloads: { bounce: false },
    });
    const first = await waitForCollab(producer, track.id, isFinal);
    expect(first).toMatchObject({ expiry: '90d', downloads: { bounce: false, project: true, stem: true } });
    // Share with remaining, with other settings: the share keeps its own.
    await producer.api.post(base(track), { files: track.selection, expiry: '7d', downloads: { stem: false } });
    const remaining = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.total === 3);
    expect(remaining).toMatchObject({
      expiry: '90d',
      expiresAt: first.expiresAt,
      downloads: { stem: true },
      files: { copied: 3, leftOut: 0 },
    });

    const reset = await producer.api.post(`${base(track)}/reset`);
    expect(reset.body).toMatchObject({
      status: 'not_shared',
      expiry: 'never',
      expiresAt: null,
      downloads: { bounce: true, project: true, stem: true },
      includeDisabled: false,
    });
  });

  describe('download permissions', () => {
    async function withBounce(track: TestTrack): Promise<string> {
      const { result } = await producer.dbx.filesUpload({
        path: `${track.folderPath}/Bounces/Mix.wav`,
        contents: randomBytes(2048),
      });
      return `d:${result.id}`;
    }

    it('leaves the stems out of the folder when their downloads are off, and says why', async () => {
      const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
      const bounce = await withBounce(track);
      const res = await producer.api.post(base(track), {
        files: [bounce, ...track.selection],
        downloads: { stem: false },
      });
      expect(res.status).toBe(202);
      const view = await waitForCollab(producer, track.id, isFinal);
      expect(view.status).toBe('done');
      expect(view.files).toMatchObject({ total: 3, copied: 1, leftOut: 2, toCopy: 1 });
      expect(view.files.skippedNotes).toEqual([
        expect.stringMatching(/^stem-01\.wav was left out: downloads of stems are off/),
        expect.stringMatching(/^stem-02\.wav was left out: downloads of stems are off/),
      ]);
      expect(view.includeDisabled).toBe(false);
      expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Bounces/Mix.wav']);
      const html = (await producer.browser.get(`/tracks/${track.id}/collaboration`)).text;
      expect(html).toMatch(/Left out of the folder/);
      expect(html).toMatch(/stem-01\.wav was left out/);

      // Remembered: a stem added later by "share with remaining" is left out too.
      const { result } = await producer.dbx.filesUpload({
        path: `${track.folderPath}/Stems/late.wav`,
        contents: randomBytes(2048),
      });
      await producer.api.post(base(track), { files: [`d:${result.id}`] });
      const later = await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.total === 4);
      expect(later.files).toMatchObject({ copied: 1, leftOut: 3 });
      expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Bounces/Mix.wav']);
    });

    it('puts them in by the explicit choice, remembered for the files shared later', async () => {
      const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
      const bounce = await withBounce(track);
      await producer.api.post(base(track), {
        files: [bounce, ...track.selection],
        downloads: { stem: false },
        disabledDownloads: 'include',
      });
      const view = await waitForCollab(producer, track.id, isFinal);
      expect(view.files).toMatchObject({ total: 3, copied: 3, leftOut: 0 });
      expect(view.includeDisabled).toBe(true);
      const { result } = await producer.dbx.filesUpload({
        path: `${track.folderPath}/Stems/late.wav`,
        contents: randomBytes(2048),
      });
      await producer.api.post(base(track), { files: [`d:${result.id}`] });
      await waitForCollab(producer, track.id, (v) => isFinal(v) && v.files.copied === 4);
      expect(await filesIn(producer.dbx, view.folder!.path)).toEqual([
        'Bounces/Mix.wav',
        'Stems/late.wav',
        'Stems/stem-01.wav',
        'Stems/stem-02.wav',
      ]);
    });

    it('refuses a first start whose every file would be left out (400 naming downloads), starting nothing', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const res = await producer.api.post(base(track), { files: track.selection, downloads: { stem: false } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        { field: 'downloads', message: expect.stringMatching(/downloads are off for every selected file/) },
      ]);
      expect((await collabStatus(producer, track.id)).status).toBe('not_shared');
    });
  });

  describe('bad input', () => {
    it.each([
      [{ expiry: '5d' }, 'expiry', /expiry must be one of 7d, 30d, 90d, never/],
      [{ downloads: { vocals: false } }, 'downloads.vocals', /vocals should not exist/],
      [{ downloads: { stem: 'no' } }, 'downloads.stem', /downloads\.stem must be true or false/],
      [{ disabledDownloads: 'sometimes' }, 'disabledDownloads', /disabledDownloads must be/],
    ])('POST %j answers 400 naming %s, and starts nothing', async (extra, field, message) => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      env.emulator.control.resetCounters();
      const res = await producer.api.post(base(track), { files: track.selection, ...extra });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
      expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at /);
      expect((await collabStatus(producer, track.id)).status).toBe('not_shared');
      // Other tracks' shares are refreshed by the sweep meanwhile (reads); nothing was written.
      expect(env.emulator.control.callLog().filter((c) => c.write)).toEqual([]);
    });

    it('PATCH answers 400 for a bad expiry and 409 before the track is shared', async () => {
      const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
      const bad = await producer.api.patch(base(track), { expiry: '5d' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toBe('expiry');
      expect((await producer.api.patch(base(track), {})).status).toBe(400);
      const early = await producer.api.patch(base(track), { expiry: '30d' });
      expect(early.status).toBe(409);
      expect(early.body.message).toMatch(/not shared/);
    });
  });
});

describe('collaborator shares: an end that comes while a run is stuck', () => {
  let env: CollabEnv;
  beforeAll(async () => {
    // Stuck after a second without progress (below COLLAB_STUCK_SECONDS's minimum); the expiry job looks at the
    // run again every quarter of a second.
    env = await startCollabEnv({
      env: { COLLAB_REFRESH_SECONDS: '5' },
      tuning: { collaboration: { stuckMs: 1_000, expiryRecheckMs: 250 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('waits for a run that moves, stops one that is stuck, and ends access without inviting anyone', async () => {
    const producer = env.producer;
    const track = await makeTrack(producer, { files: 1, collaborators: [{}, {}] });
    // The copy hangs (well within the gateway's 30 s timeout): the run makes no progress. Four times the stuck
    // threshold, so however loaded the machine, the run is found stuck and stopped before the copy comes back.
    const hang = env.emulator.control.addFault({ route: 'files/copy_batch_v2', latencyMs: 4_000, times: 1 });
    try {
      env.emulator.control.resetCounters();
      await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection, expiry: '30d' });
      await waitForCollab(producer, track.id, (v) => v.step === 'files');
      expect((await producer.api.patch(`/api/v1/tracks/${track.id}/collaboration`, { expiry: 'now' })).status).toBe(
        200,
      );
      const ended = await waitForCollab(producer, track.id, (v) => v.access.state === 'ended', 40_000);
      expect(ended.status).toBe('failed');
      expect(ended.error).toMatchObject({ code: 'access_ended' });
      expect(ended.members.map((m) => m.state)).toEqual(['queued', 'queued']);
    } finally {
      env.emulator.control.removeFault(hang.id);
    }
    // The hung copy returns, and the stopped run changes nothing and invites nobody.
    const queue = env.t.app.get<Queue>(getQueueToken(QueueName.Collaboration), { strict: false });
    const copied = () =>
      env.emulator.control.callLog().some((c) => c.route === 'files/copy_batch_v2' && c.status === 200);
    for (const deadline = Date.now() + 30_000; !(copied() && (await queue.getActiveCount()) === 0);) {
      if (Date.now() > deadline) throw new Error('the hung copy did not come back');
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await collabStatus(producer, track.id);
    expect(after).toMatchObject({ status: 'failed', access: { state: 'ended' } });
    expect(env.emulator.control.callLog().filter((c) => c.route === 'sharing/add_folder_member')).toEqual([]);
  });
});
