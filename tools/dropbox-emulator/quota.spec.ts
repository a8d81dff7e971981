import type { files, users } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

const KiB = 1024;

describe('a full Dropbox: per-account quota and used space from stored bytes', () => {
  let fixture: EmulatorFixture;

  beforeEach(async () => {
    fixture = await startFixture();
  });

  afterEach(async () => {
    await fixture.emulator.close();
  });

  const setQuota = async (quota: number | null) => {
    const res = await fetch(`${fixture.emulator.url}/_emulator/accounts/quota`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account_id: fixture.account.account_id, quota_bytes: quota }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { used: number; allocated: number };
  };

  it('reports used space from the stored files and the allocation set through the control API', async () => {
    await fixture.dbx.filesUpload({ path: '/a.bin', contents: Buffer.alloc(3 * KiB, 1) });
    await fixture.dbx.filesUpload({ path: '/b.bin', contents: Buffer.alloc(2 * KiB, 2) });
    expect(await setQuota(10 * KiB)).toMatchObject({ used: 5 * KiB, allocated: 10 * KiB });
    const usage = (await fixture.dbx.usersGetSpaceUsage()).result as users.SpaceUsage;
    expect(usage.used).toBe(5 * KiB);
    expect(usage.allocation).toEqual({ '.tag': 'individual', allocated: 10 * KiB });
    await fixture.dbx.filesDeleteV2({ path: '/a.bin' });
    expect(fixture.emulator.control.space({ account_id: fixture.account.account_id }).used).toBe(2 * KiB);
    // Bad input answers 400; null goes back to the default allocation.
    const bad = await fetch(`${fixture.emulator.url}/_emulator/accounts/quota`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account_id: fixture.account.account_id, quota_bytes: -1 }),
    });
    expect(bad.status).toBe(400);
    expect((await setQuota(null)).allocated).toBeGreaterThan(1024 ** 4);
  });

  it('refuses files/upload past the quota with UploadWriteFailed: reason beside the tag, bytes kept in a session', async () => {
    await setQuota(4 * KiB);
    await fixture.dbx.filesUpload({ path: '/first.bin', contents: Buffer.alloc(3 * KiB, 1) });
    const refused = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path: '/second.bin', contents: Buffer.alloc(2 * KiB, 2) }),
    );
    expect(refused.status).toBe(409);
    expect(refused.error.error_summary).toBe('path/insufficient_space/..');
    const failed = refused.error.error as unknown as {
      '.tag': string;
      reason: { '.tag': string };
      upload_session_id: string;
    };
    expect(failed['.tag']).toBe('path');
    expect(failed.reason).toEqual({ '.tag': 'insufficient_space' });
    expect(failed.upload_session_id).toEqual(expect.any(String));
    expect(failed).not.toHaveProperty('path');

    // Identical contents at the same path change nothing, so a full account accepts them.
    await fixture.dbx.filesUpload({ path: '/first.bin', contents: Buffer.alloc(3 * KiB, 1) });

    // Once space is freed, the refused bytes can be committed from their session.
    await fixture.dbx.filesDeleteV2({ path: '/first.bin' });
    const committed = await fixture.dbx.filesUploadSessionFinish({
      cursor: { session_id: failed.upload_session_id, offset: 2 * KiB },
      commit: { path: '/second.bin' },
    });
    expect(committed.result.size).toBe(2 * KiB);
  });

  it('refuses upload_session/finish with path/insufficient_space and copy_batch_v2 entries with insufficient_quota', async () => {
    await fixture.dbx.filesUpload({ path: '/src/take.wav', contents: Buffer.alloc(3 * KiB, 3) });
    await setQuota(4 * KiB);
    const started = await fixture.dbx.filesUploadSessionStart({ close: true, contents: Buffer.alloc(2 * KiB, 4) });
    const finish = await dropboxError<files.UploadSessionFinishError>(
      fixture.dbx.filesUploadSessionFinish({
        cursor: { session_id: started.result.session_id, offset: 2 * KiB },
        commit: { path: '/big.bin' },
      }),
    );
    expect(finish.error.error).toEqual({ '.tag': 'path', path: { '.tag': 'insufficient_space' } });

    const copy = await fixture.dbx.filesCopyBatchV2({
      entries: [{ from_path: '/src/take.wav', to_path: '/copy/take.wav' }],
    });
    expect(copy.result).toEqual({
      '.tag': 'complete',
      entries: [
        {
          '.tag': 'failure',
          failure: { '.tag': 'relocation_error', relocation_error: { '.tag': 'insufficient_quota' } },
        },
      ],
    });
  });

  it('builds the UploadWriteFailed shape when a files/upload refusal is injected', async () => {
    fixture.emulator.control.addFault({ route: 'files/upload', errorTag: 'path/disallowed_name', times: 1 });
    const refused = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path: '/x.bin', contents: Buffer.from('x') }),
    );
    expect(refused.error.error_summary).toBe('path/disallowed_name/..');
    expect(refused.error.error).toEqual({
      '.tag': 'path',
      reason: { '.tag': 'disallowed_name' },
      upload_session_id: expect.any(String),
    });
    // Other routes keep the nested shape.
    fixture.emulator.control.addFault({ route: 'files/get_metadata', errorTag: 'path/not_found', times: 1 });
    const lookup = await dropboxError(fixture.dbx.filesGetMetadata({ path: '/x.bin' }));
    expect(lookup.error.error).toEqual({ '.tag': 'path', path: { '.tag': 'not_found' } });
  });
});
