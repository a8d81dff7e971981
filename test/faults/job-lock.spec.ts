import { CollabEnv, isFinal, makeTrack, startCollabEnv, waitForCollab } from '../integration/collaboration-support';

/**
 * A step that runs longer than JOB_LOCK_SECONDS keeps its job: the worker renews the lock at half the configured
 * time, so the stalled-job check never hands the job to another run while the first is still at it (which would call
 * Dropbox a second time).
 */
describe('a job that outlasts its lock', () => {
  const LOCK_SECONDS = 5;
  let env: CollabEnv;
  beforeAll(async () => {
    env = await startCollabEnv({ env: { JOB_LOCK_SECONDS: String(LOCK_SECONDS) } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('keeps its lock for as long as it runs, and the step calls Dropbox once', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 1, collaborators: [{}] });
    // Well past the lock (and past the lock plus one stalled-job check), well within the gateway's call timeout.
    const slow = emulator.control.addFault({
      route: 'sharing/share_folder',
      latencyMs: 2 * LOCK_SECONDS * 1000 + 1000,
      times: 1,
    });
    try {
      emulator.control.resetCounters();
      const started = await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      expect(started.status).toBe(202);
      const done = await waitForCollab(producer, track.id, isFinal, 60_000);
      expect(done.status).toBe('done');
    } finally {
      emulator.control.removeFault(slow.id);
    }
    expect(emulator.control.callLog().filter((c) => c.route === 'sharing/share_folder')).toHaveLength(1);
  });
});
