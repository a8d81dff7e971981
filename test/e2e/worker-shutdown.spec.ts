import type { ChildProcess } from 'node:child_process';
import type { RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import {
  connectedProducer,
  filesIn,
  killProcess,
  makeTrack,
  startWorkerProcess,
  waitForAll,
} from '../integration/collaboration-support';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, startTestEmulator } from '../support/dropbox';

/** Resolves with the exit code and everything the process printed from now on. */
function exitOf(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

/**
 * SIGTERM while a job waits on Dropbox: the worker does not wait for the job beyond SHUTDOWN_GRACE_SECONDS, says so
 * and exits; the job is taken up by the next worker and the pipeline ends with one folder, each file once and one
 * invitation.
 */
describe('a worker stopped while a job is running', () => {
  let emulator: RunningDropboxEmulator;
  let web: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    web = await startTestApp({ env: { ...dropboxEnv(emulator), JOB_LOCK_SECONDS: '5' }, workers: false });
  });
  afterAll(async () => {
    if (worker) await killProcess(worker);
    await web?.close();
    await emulator?.close();
  });

  it('exits after SHUTDOWN_GRACE_SECONDS, and the next worker completes the job exactly once', async () => {
    const producer = await connectedProducer(web, emulator);
    const track = await makeTrack(producer, { files: 2, collaborators: [{}] });
    // The pipeline's first Dropbox write answers only after 20 s: the job is running when SIGTERM comes.
    const held = emulator.control.addFault({ route: 'sharing/share_folder', latencyMs: 20_000, times: 1 });
    worker = await startWorkerProcess({ ...web.env, SHUTDOWN_GRACE_SECONDS: '2' });
    expect(
      (await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection })).status,
    ).toBe(202);
    // A fault with `times: 1` leaves the list as the call it holds arrives.
    const deadline = Date.now() + 15_000;
    while (emulator.control.faults().some((f) => f.id === held.id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(emulator.control.faults().some((f) => f.id === held.id)).toBe(false);

    const exited = exitOf(worker);
    worker.kill('SIGTERM');
    const { code, output } = await exited;
    expect(output).toMatch(/shutdown did not finish within 2 s/);
    expect(code).toBe(1);

    worker = await startWorkerProcess(web.env);
    const [view] = await waitForAll([{ producer, track }], 60_000);
    expect(view.status).toBe('done');
    expect(await filesIn(producer.dbx, view.folder!.path)).toEqual(['Stems/stem-01.wav', 'Stems/stem-02.wav']);
    const listing = await producer.dbx.filesListFolder({ path: '/Producer Dashboard/Collaboration' });
    expect(listing.result.entries).toHaveLength(1);
    const succeeded = (route: string) =>
      emulator.control.callLog().filter((c) => c.route === route && c.status === 200).length;
    expect(succeeded('files/copy_batch_v2')).toBe(1);
    expect(succeeded('sharing/add_folder_member')).toBe(1);
  }, 120_000);
});
