import type { files } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('ids outside the mounted tree (a folder moved into a team space)', () => {
  let fixture: EmulatorFixture;
  let folderId: string;
  let fileId: string;

  beforeAll(async () => {
    fixture = await startFixture();
    fileId = (await fixture.dbx.filesUpload({ path: '/Team Space/Song/Mix.wav', contents: Buffer.from('mix') })).result
      .id;
    folderId = (
      (await fixture.dbx.filesGetMetadata({ path: '/Team Space/Song' })).result as files.FolderMetadataReference
    ).id;
    await fixture.dbx.filesUpload({ path: '/Mine/Other.wav', contents: Buffer.from('other') });
    const res = await fetch(`${fixture.emulator.url}/_emulator/folders/mounted`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ account_id: fixture.account.account_id, path: '/Team Space', mounted: false }),
    });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('answers by id without path_lower/path_display, and not at all by path', async () => {
    const folder = (await fixture.dbx.filesGetMetadata({ path: folderId })).result as files.FolderMetadataReference;
    expect(folder.name).toBe('Song');
    expect(folder.path_lower).toBeUndefined();
    expect(folder.path_display).toBeUndefined();
    const file = (await fixture.dbx.filesGetMetadata({ path: fileId })).result as files.FileMetadataReference;
    expect(file.path_display).toBeUndefined();
    const byPath = await dropboxError<files.GetMetadataError>(
      fixture.dbx.filesGetMetadata({ path: '/Team Space/Song' }),
    );
    expect(byPath.error.error_summary).toBe('path/not_found/..');
    const root = (await fixture.dbx.filesListFolder({ path: '', recursive: true })).result.entries.map(
      (e) => e.path_display,
    );
    expect(root).toEqual(['/Mine', '/Mine/Other.wav']);
    const inside = (await fixture.dbx.filesListFolder({ path: folderId })).result.entries;
    expect(inside.map((e) => [e.name, e.path_display])).toEqual([['Mix.wav', undefined]]);
  });

  it('answers get_folder_metadata of a shared folder moved out of the tree without its path', async () => {
    const shared = (await fixture.dbx.sharingShareFolder({ path: '/Mine/Session' })).result as {
      shared_folder_id: string;
    };
    const setMounted = (mounted: boolean) =>
      fetch(`${fixture.emulator.url}/_emulator/folders/mounted`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ account_id: fixture.account.account_id, path: '/Mine/Session', mounted }),
      });
    expect((await setMounted(false)).status).toBe(200);
    const away = (await fixture.dbx.sharingGetFolderMetadata({ shared_folder_id: shared.shared_folder_id })).result;
    expect(away.name).toBe('Session');
    expect(away.path_lower).toBeUndefined();
    expect((away as { path_display?: string }).path_display).toBeUndefined();
    expect((await setMounted(true)).status).toBe(200);
    const back = (await fixture.dbx.sharingGetFolderMetadata({ shared_folder_id: shared.shared_folder_id })).result;
    expect(back.path_lower).toBe('/mine/session');
  });
});
