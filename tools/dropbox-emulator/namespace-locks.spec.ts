import type { files } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('per-namespace write locks and an outside writer holding one', () => {
  let fixture: EmulatorFixture;
  let sharedFolderId: string;

  beforeAll(async () => {
    fixture = await startFixture();
    await fixture.dbx.filesUpload({ path: '/Collab/take.wav', contents: Buffer.from('take') });
    await fixture.dbx.filesUpload({ path: '/Home/source.wav', contents: Buffer.from('source') });
    const shared = await fixture.dbx.sharingShareFolder({ path: '/Collab' });
    sharedFolderId = (shared.result as { shared_folder_id: string }).shared_folder_id;
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  const control = (method: string, path: string, body?: object) =>
    fetch(`${fixture.emulator.url}/_emulator/${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    });

  it('refuses writes into a shared folder an outside writer holds with 429 too_many_write_operations; reads and other namespaces go on', async () => {
    const res = await control('POST', 'namespaces/locks', { shared_folder_id: sharedFolderId, retry_after_seconds: 7 });
    expect(res.status).toBe(200);
    const lock = (await res.json()) as { id: string; namespace: string };
    expect(lock.namespace).toBe(`shared:${sharedFolderId}`);

    const upload = await dropboxError(
      fixture.dbx.filesUpload({ path: '/Collab/new.wav', contents: Buffer.from('new') }),
    );
    expect(upload.status).toBe(429);
    expect(upload.headers.get('retry-after')).toBe('7');
    expect(upload.error).toEqual({
      error_summary: 'too_many_write_operations/..',
      error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 7 },
    });
    const copy = await dropboxError(
      fixture.dbx.filesCopyBatchV2({ entries: [{ from_path: '/Home/source.wav', to_path: '/Collab/source.wav' }] }),
    );
    expect(copy.status).toBe(429);
    const invite = await dropboxError(
      fixture.dbx.sharingAddFolderMember({
        shared_folder_id: sharedFolderId,
        members: [{ member: { '.tag': 'email', email: 'x@example.com' } }],
      }),
    );
    expect(invite.status).toBe(429);

    // Reads are never locked, and the account's home namespace is another lock.
    expect((await fixture.dbx.filesListFolder({ path: '/Collab' })).result.entries).toHaveLength(1);
    expect((await fixture.dbx.filesGetTemporaryLink({ path: '/Collab/take.wav' })).status).toBe(200);
    expect((await fixture.dbx.filesUpload({ path: '/Home/other.wav', contents: Buffer.from('other') })).status).toBe(
      200,
    );
    expect(
      (await fixture.dbx.filesCopyBatchV2({ entries: [{ from_path: '/Collab/take.wav', to_path: '/Home/take.wav' }] }))
        .status,
    ).toBe(200);

    expect(fixture.emulator.control.namespaceLocks()).toEqual([expect.objectContaining({ id: lock.id, refused: 3 })]);
    expect(await (await control('DELETE', `namespaces/locks/${lock.id}`)).json()).toEqual({ released: true });
    const after = await fixture.dbx.filesUpload({ path: '/Collab/new.wav', contents: Buffer.from('new') });
    expect((after.result as files.FileMetadata).path_display).toBe('/Collab/new.wav');
  });

  it("holds an account's home namespace: writes there wait, writes into its shared folder don't", async () => {
    const lock = fixture.emulator.control.holdNamespaceLock({ account_id: fixture.account.account_id });
    try {
      expect((await dropboxError(fixture.dbx.filesCreateFolderV2({ path: '/Home/New' }))).status).toBe(429);
      expect(
        (await dropboxError(fixture.dbx.filesMoveV2({ from_path: '/Home/other.wav', to_path: '/Collab/other.wav' })))
          .status,
      ).toBe(429);
      expect((await fixture.dbx.filesUpload({ path: '/Collab/inside.wav', contents: Buffer.from('in') })).status).toBe(
        200,
      );
    } finally {
      fixture.emulator.control.releaseNamespaceLock(lock.id);
    }
    expect((await control('POST', 'namespaces/locks', { shared_folder_id: '999' })).status).toBe(404);
    expect(
      (await control('POST', 'namespaces/locks', { account_id: fixture.account.account_id, retry_after_seconds: -1 }))
        .status,
    ).toBe(400);
  });
});
