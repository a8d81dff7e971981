import type { files, sharing } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('async answers and batch failures', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture({ asyncBatchThreshold: 100 });
    for (const name of ['a', 'b', 'c', 'd'])
      await fixture.dbx.filesUpload({ path: `/Src/${name}.wav`, contents: Buffer.from(name) });
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  const post = (path: string, body: object) =>
    fetch(`${fixture.emulator.url}/_emulator/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers share_folder with an async job without force_async when shareFolderAsync is set', async () => {
    fixture.emulator.control.updateSettings({ shareFolderAsync: true });
    try {
      const launch = (await fixture.dbx.sharingShareFolder({ path: '/Async' })).result as sharing.ShareFolderLaunch;
      expect(launch['.tag']).toBe('async_job_id');
      const jobId = (launch as { async_job_id: string }).async_job_id;
      expect((await fixture.dbx.sharingCheckShareJobStatus({ async_job_id: jobId })).result['.tag']).toBe(
        'in_progress',
      );
      expect((await fixture.dbx.sharingCheckShareJobStatus({ async_job_id: jobId })).result['.tag']).toBe('complete');
    } finally {
      fixture.emulator.control.updateSettings({ shareFolderAsync: false });
    }
  });

  it('fails chosen copy_batch_v2 entries with too_many_write_operations, internal_error or too_many_files; the rest are copied', async () => {
    expect((await post('faults/copy-entries', { failure: 'too_many_write_operations', count: 1 })).status).toBe(200);
    fixture.emulator.control.failCopyEntries({ failure: 'internal_error' });
    fixture.emulator.control.failCopyEntries({ failure: 'too_many_files' });
    const copy = await fixture.dbx.filesCopyBatchV2({
      entries: ['a', 'b', 'c', 'd'].map((n) => ({ from_path: `/Src/${n}.wav`, to_path: `/Dst/${n}.wav` })),
    });
    const entries = (copy.result as files.RelocationBatchV2JobStatusComplete).entries;
    expect(entries.map((e) => e['.tag'])).toEqual(['failure', 'failure', 'failure', 'success']);
    expect(entries.slice(0, 3).map((e) => (e as { failure: unknown }).failure)).toEqual([
      { '.tag': 'too_many_write_operations' },
      { '.tag': 'internal_error' },
      { '.tag': 'relocation_error', relocation_error: { '.tag': 'too_many_files' } },
    ]);
    expect((await post('faults/copy-entries', { failure: 'nope' })).status).toBe(400);
  });

  it('answers a check route with internal_error when asked (fault), and expired job ids with invalid_async_job_id', async () => {
    fixture.emulator.control.updateSettings({ asyncBatchThreshold: 0 });
    const launch = (
      await fixture.dbx.filesCopyBatchV2({ entries: [{ from_path: '/Src/a.wav', to_path: '/Jobs/a.wav' }] })
    ).result as { async_job_id: string };
    fixture.emulator.control.addFault({ route: 'files/copy_batch/check_v2', errorTag: 'internal_error', times: 1 });
    const internal = await dropboxError(fixture.dbx.filesCopyBatchCheckV2({ async_job_id: launch.async_job_id }));
    expect(internal.error.error).toEqual({ '.tag': 'internal_error' });
    expect(await (await post('jobs/expire', {})).json()).toEqual({ expired: expect.any(Number) });
    const expired = await dropboxError(fixture.dbx.filesCopyBatchCheckV2({ async_job_id: launch.async_job_id }));
    expect(expired.error.error).toEqual({ '.tag': 'invalid_async_job_id' });
  });
});
