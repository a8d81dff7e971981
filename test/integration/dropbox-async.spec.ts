import { CollabEnv, filesIn, isFinal, makeTrack, startCollabEnv, waitForCollab } from './collaboration-support';

/**
 * Dropbox's async answers and batch failures: share_folder going async unasked, copy_batch_v2 entries failing with
 * too_many_write_operations / internal_error / too_many_files, check routes answering internal_error, job ids that
 * expire. The pipeline retries only what failed, splits what is too big, and restarts a step whose job Dropbox forgot —
 * ending with every file in the folder once and every invitation sent.
 */
describe('async answers and batch failures', () => {
  let env: CollabEnv;

  beforeAll(async () => {
    // Jobs are polled every few milliseconds, not production's 100 ms doubling to 2 s: each test waits for several.
    env = await startCollabEnv({
      emulator: { shareFolderAsync: true },
      tuning: { dropbox: { asyncPollFirstMs: 5, asyncPollMaxMs: 50 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  const expectComplete = async (
    track: Awaited<ReturnType<typeof makeTrack>>,
    view: Awaited<ReturnType<typeof waitForCollab>>,
  ) => {
    expect(view.status).toBe('done');
    expect(view.files).toMatchObject({ total: track.files.length, copied: track.files.length, pending: 0 });
    expect(await filesIn(env.producer.dbx, view.folder!.path)).toEqual(
      track.files.map((f) => `Stems/${f.name}`).sort(),
    );
    expect(view.members.every((m) => m.state === 'invited')).toBe(true);
  };

  it('retries only the entries that failed (lock, internal error) and treats internal_error on a check route as passing', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 5, collaborators: [{}] });
    emulator.control.failCopyEntries({
      failure: 'too_many_write_operations',
      count: 2,
      account_id: producer.accountId,
    });
    emulator.control.failCopyEntries({ failure: 'internal_error', count: 1, account_id: producer.accountId });
    emulator.control.addFault({
      route: 'files/copy_batch/check_v2',
      accountId: producer.accountId,
      errorTag: 'internal_error',
      times: 1,
    });
    emulator.control.resetCounters();
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal, 60_000);
    await expectComplete(track, view);
    // share_folder went async without being asked and was polled to its end.
    expect(emulator.control.counters().callsByRoute['sharing/check_share_job_status']).toBeGreaterThan(0);
    expect(emulator.control.counters().callsByRoute['files/copy_batch_v2']).toBeGreaterThan(1);
  });

  it('splits a batch Dropbox finds too big (too_many_files) within the same step', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 4, collaborators: [{}] });
    emulator.control.failCopyEntries({ failure: 'too_many_files', count: 4, account_id: producer.accountId });
    await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
    const view = await waitForCollab(producer, track.id, isFinal, 60_000);
    await expectComplete(track, view);
    expect(view.error).toBeNull();
  });

  it('restarts the copy when Dropbox forgot its job id, copying nothing twice', async () => {
    const { producer, emulator } = env;
    const track = await makeTrack(producer, { files: 3, collaborators: [{}] });
    // Only the copy runs as a job that never ends by itself: share_folder answers at once, or its job would be the
    // one polled a thousand times.
    emulator.control.updateSettings({ asyncPolls: 1_000, shareFolderAsync: false });
    try {
      emulator.control.resetCounters();
      await producer.api.post(`/api/v1/tracks/${track.id}/collaboration`, { files: track.selection });
      const deadline = Date.now() + 30_000;
      while (
        !emulator.control
          .callLog()
          .some((c) => c.route === 'files/copy_batch/check_v2' && c.accountId === producer.accountId)
      ) {
        if (Date.now() > deadline) throw new Error('the copy job was never polled');
        await new Promise((r) => setTimeout(r, 50));
      }
      emulator.control.expireJobs({ account_id: producer.accountId });
    } finally {
      emulator.control.updateSettings({ asyncPolls: 1, shareFolderAsync: true });
    }
    const view = await waitForCollab(producer, track.id, isFinal, 60_000);
    await expectComplete(track, view);
    expect(emulator.control.callLog().some((c) => c.route === 'files/copy_batch/check_v2' && c.status === 409)).toBe(
      true,
    );
  });
});
