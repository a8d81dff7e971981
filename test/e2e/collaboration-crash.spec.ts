import type { ChildProcess } from 'node:child_process';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import {
  collabStatus,
  connectedProducer,
  filesIn,
  killProcess as kill,
  makeTrack,
  Producer,
  startWorkerProcess as startWorker,
  TestTrack,
  waitForAll,
} from '../integration/collaboration-support';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';

const PIPELINES = 20;
const PRODUCERS = 4;
const KILLS = 3;

/**
 * 20 pipelines of 4 producers, processed only by a separate worker process that is SIGKILLed at random moments
 * several times and started again. Every pipeline completes, and Dropbox holds one folder per track, each file
 * once, and one successful invitation call per pipeline (the emulator's call log).
 */
describe('collaboration pipelines survive a worker killed with SIGKILL', () => {
  let emulator: RunningDropboxEmulator;
  let web: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    emulator = await startTestEmulator({ strict: true });
    // The web process runs no workers: only the child process does the work.
    web = await startTestApp({ env: { ...dropboxEnv(emulator), JOB_LOCK_SECONDS: '5' }, workers: false });
  });
  afterAll(async () => {
    if (worker) await kill(worker);
    await web?.close();
    await emulator?.close();
  });

  it('completes all 20 with one folder per track, one copy of each file and one invitation per collaborator', async () => {
    const producers: Producer[] = [];
    for (let i = 0; i < PRODUCERS; i += 1) producers.push(await connectedProducer(web, emulator));
    const tracks: Array<{ producer: Producer; track: TestTrack }> = [];
    for (let i = 0; i < PIPELINES; i += 1) {
      const producer = producers[i % PRODUCERS];
      tracks.push({ producer, track: await makeTrack(producer, { files: 3, collaborators: [{}, {}] }) });
    }
    emulator.control.resetCounters();
    // A little latency per call so that kills land inside Dropbox calls as well as between them.
    emulator.control.updateSettings({ latencyMs: 15 });
    for (const { producer, track } of tracks) {
      const res = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      expect(res.status).toBe(202);
    }

    const workerEnv = { ...web.env, WORKER_CONCURRENCY: '8' };
    const kills: number[] = [];
    for (let k = 0; k < KILLS; k += 1) {
      worker = await startWorker(workerEnv);
      const after = 1000 + Math.floor(Math.random() * 3000);
      await new Promise((r) => setTimeout(r, after));
      await kill(worker);
      kills.push(after);
    }
    const doneBeforeLastStart = (
      await Promise.all(tracks.map(({ producer, track }) => collabStatus(producer, track.id)))
    ).filter((v) => v.status === 'done').length;
    worker = await startWorker(workerEnv);
    const lastStart = Date.now();
    const views = await waitForAll(tracks, 150_000);
    // A worker killed inside a write leaves its account's write slot taken until the slot's TTL (the gateway's
    // 60 s) runs out; the rest waits for that.
    process.stdout.write(
      `crash test: killed after ${kills.join(', ')} ms of work; ${doneBeforeLastStart}/${PIPELINES} done before the last start; ` +
        `all done ${Math.round((Date.now() - lastStart) / 1000)} s after it\n`,
    );

    expect(views.map((v) => v.status)).toEqual(Array(PIPELINES).fill('done'));
    // Each track: its own folder, holding exactly its three files, with exactly its collaborators invited.
    const folders = new Set(views.map((v) => v.folder!.path));
    expect(folders.size).toBe(PIPELINES);
    for (const [i, view] of views.entries()) {
      const { producer, track } = tracks[i];
      expect(await filesIn(producer.dbx, view.folder!.path)).toEqual([
        'Stems/stem-01.wav',
        'Stems/stem-02.wav',
        'Stems/stem-03.wav',
      ]);
      const meta = await producer.dbx.filesGetMetadata({ path: view.folder!.path });
      const sharedId = (meta.result as { sharing_info?: { shared_folder_id: string } }).sharing_info!.shared_folder_id;
      const members = await producer.dbx.sharingListFolderMembers({ shared_folder_id: sharedId });
      expect(members.result.invitees.map((m) => (m.invitee as { email: string }).email).sort()).toEqual(
        track.collaborators.map((c) => c.email).sort(),
      );
    }
    // No stray copies of the collaboration folders ("… (1)") in any producer's Dropbox.
    for (const producer of producers) {
      const listing = await producer.dbx.filesListFolder({ path: '/Producer Dashboard/Collaboration' });
      expect(listing.result.entries).toHaveLength(PIPELINES / PRODUCERS);
    }
    const log = emulator.control.callLog();
    const succeeded = (route: string) => log.filter((c) => c.route === route && c.status === 200).length;
    expect(succeeded('sharing/share_folder')).toBe(PIPELINES); // a repeat answers already_shared (409)
    expect(succeeded('files/copy_batch_v2')).toBe(PIPELINES);
    expect(succeeded('sharing/add_folder_member')).toBe(PIPELINES);
    const counters = emulator.control.counters();
    for (const producer of producers) expect(counters.maxConcurrentWritesByAccount[producer.accountId]).toBe(1);
  }, 240_000);
});
