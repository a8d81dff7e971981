import type { ChildProcess } from 'node:child_process';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { CollaborationClock } from '../../src/modules/collaboration/collaboration-clock';
import type { CollaborationView } from '../../src/modules/collaboration/collaboration.views';
import {
  collabStatus,
  connectedProducer,
  killProcess as kill,
  makeTrack,
  Producer,
  startWorkerProcess as startWorker,
  TestTrack,
  waitForAll,
} from '../integration/collaboration-support';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';

const PRODUCERS = 3;
const TRACKS = 6;
const COLLABORATORS = 4;
const KILLS = 3;
const DAY = 24 * 3600_000;

/**
 * Shares whose end has come, carried out only by a separate worker process that is SIGKILLed at random moments
 * several times and started again. Every collaborator — joined or pending — ends up removed from their folder,
 * each by exactly one successful remove call (the emulator's call log), and the folders stay.
 */
describe('ending collaborators’ access survives a worker killed with SIGKILL', () => {
  let emulator: RunningDropboxEmulator;
  let web: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    emulator = await startTestEmulator({ strict: true });
    // The web process runs no workers; the worker processes sweep every 5 s and so find the ends that came.
    web = await startTestApp({
      env: { ...dropboxEnv(emulator), JOB_LOCK_SECONDS: '5', COLLAB_REFRESH_SECONDS: '5' },
      workers: false,
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    if (worker) await kill(worker);
    await web?.close();
    await emulator?.close();
  });

  async function waitForEnded(
    items: Array<{ producer: Producer; track: TestTrack }>,
    timeoutMs: number,
  ): Promise<CollaborationView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(items.map(({ producer, track }) => collabStatus(producer, track.id)));
      if (views.every((v) => v.access.state === 'ended')) return views;
      if (Date.now() > deadline) {
        throw new Error(
          `not ended: ${views
            .filter((v) => v.access.state !== 'ended')
            .map((v) => `${v.trackId} ${v.access.state} ${v.access.error ?? ''}`)
            .join('; ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  it('removes each collaborator once, whatever the kills interrupted', async () => {
    const producers: Producer[] = [];
    for (let i = 0; i < PRODUCERS; i += 1) producers.push(await connectedProducer(web, emulator));
    const tracks: Array<{ producer: Producer; track: TestTrack }> = [];
    for (let i = 0; i < TRACKS; i += 1) {
      const producer = producers[i % PRODUCERS];
      tracks.push({
        producer,
        track: await makeTrack(producer, {
          files: 2,
          collaborators: Array.from({ length: COLLABORATORS }, () => ({})),
        }),
      });
    }
    for (const { producer, track } of tracks) {
      expect(
        (await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection })).status,
      ).toBe(202);
    }
    const workerEnv = { ...web.env, WORKER_CONCURRENCY: '8' };
    worker = await startWorker(workerEnv);
    // Generous: on a loaded machine the first sharing alone can take minutes.
    expect((await waitForAll(tracks, 240_000)).map((v) => v.status)).toEqual(Array(TRACKS).fill('done'));
    await kill(worker);
    // Half the collaborators accepted their invitation; the others' invitations are still pending.
    for (const { track } of tracks)
      for (const c of track.collaborators.slice(0, COLLABORATORS / 2))
        emulator.control.acceptInvites({ email: c.email! });

    // Each share's 7 days were set by a producer whose clock was 7 days and a minute behind: by the worker's clock,
    // every end has come.
    const clock = web.app.get(CollaborationClock);
    jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() - 7 * DAY - 60_000));
    for (const { producer, track } of tracks) {
      expect((await producer.api.patch(`/api/v1/tracks/${track.id}/collaboration`, { expiry: '7d' })).status).toBe(200);
    }
    jest.restoreAllMocks();

    emulator.control.resetCounters();
    // Latency per call so that the removals take a while and kills land inside Dropbox calls as well as between them.
    emulator.control.updateSettings({ latencyMs: 60 });
    const removed = () =>
      emulator.control.callLog().filter((c) => c.route === 'sharing/remove_folder_member' && c.status === 200).length;
    const killedAt: number[] = [];
    for (let k = 0; k < KILLS && removed() < TRACKS * COLLABORATORS; k += 1) {
      worker = await startWorker(workerEnv);
      // Kill once this worker has removed someone, so the kill lands inside the expiry jobs.
      const seen = removed();
      const deadline = Date.now() + 60_000;
      while (removed() === seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      await kill(worker);
      killedAt.push(removed());
    }
    const removedBeforeLastStart = removed();
    worker = await startWorker(workerEnv);
    const views = await waitForEnded(tracks, 240_000);
    process.stdout.write(
      `expiry crash test: killed with ${killedAt.join(', ')} of ${TRACKS * COLLABORATORS} removed; ${removedBeforeLastStart} before the last start\n`,
    );

    for (const [i, view] of views.entries()) {
      const { producer, track } = tracks[i];
      expect(view.members.map((m) => m.state)).toEqual(Array(COLLABORATORS).fill('removed'));
      const meta = await producer.dbx.filesGetMetadata({ path: view.folder!.path });
      const sharedId = (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info!.shared_folder_id;
      const members = (await producer.dbx.sharingListFolderMembers({ shared_folder_id: sharedId })).result;
      expect(members.users.map((u) => u.user.email)).toEqual([producer.dropboxEmail]);
      expect(members.invitees).toEqual([]);
      expect(track.collaborators).toHaveLength(COLLABORATORS);
    }
    expect(killedAt.length).toBeGreaterThan(0);
    expect(killedAt.every((n) => n < TRACKS * COLLABORATORS)).toBe(true); // every kill landed before the work was done
    // One successful removal per collaborator: nobody was removed twice, nobody was skipped.
    const removals = emulator.control.callLog().filter((c) => c.route === 'sharing/remove_folder_member');
    expect(removals.filter((c) => c.status === 200)).toHaveLength(TRACKS * COLLABORATORS);
    const counters = emulator.control.counters();
    for (const producer of producers)
      expect(counters.maxConcurrentWritesByAccount[producer.accountId] ?? 0).toBeLessThanOrEqual(1);
  }, 600_000);
});
