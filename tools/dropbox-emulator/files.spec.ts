import { createHash } from 'node:crypto';
import type { files } from 'dropbox';
import { dropboxContentHash } from './content-hash';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

/** The content hash computed independently of the emulator's streaming hasher. */
function referenceContentHash(data: Buffer): string {
  const blockSize = 4 * 1024 * 1024;
  const digests: Buffer[] = [];
  for (let start = 0; start < data.length; start += blockSize) {
    digests.push(
      createHash('sha256')
        .update(data.subarray(start, start + blockSize))
        .digest(),
    );
  }
  return createHash('sha256').update(Buffer.concat(digests)).digest('hex');
}

describe('files routes', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('uploads a small file and reports real metadata and content_hash', async () => {
    const data = Buffer.from('kick drum, take 3');
    const { result } = await fixture.dbx.filesUpload({ path: '/Tracks/Song One/Bounce.wav', contents: data });
    const metadata: files.FileMetadata = result;
    expect(metadata).toMatchObject({
      name: 'Bounce.wav',
      path_display: '/Tracks/Song One/Bounce.wav',
      path_lower: '/tracks/song one/bounce.wav',
      size: data.length,
      content_hash: referenceContentHash(data),
      is_downloadable: true,
    });
    expect(metadata.id).toMatch(/^id:/);
    expect(metadata.rev).toMatch(/^[0-9a-f]{9,}$/);
    expect(metadata.server_modified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const folder = await fixture.dbx.filesGetMetadata({ path: '/tracks/song one' });
    expect(folder.result).toMatchObject({ '.tag': 'folder', path_display: '/Tracks/Song One' });
  });

  it('computes content_hash over 4 MiB blocks like an independent implementation', async () => {
    const data = Buffer.alloc(9 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
    const { result } = await fixture.dbx.filesUpload({ path: '/hash/blocks.bin', contents: data });
    expect(result.content_hash).toBe(referenceContentHash(data));
    expect(dropboxContentHash(data)).toBe(referenceContentHash(data));
    expect(dropboxContentHash(Buffer.alloc(0))).toBe(createHash('sha256').update(Buffer.alloc(0)).digest('hex'));
  });

  it('treats paths case-insensitively, keeping the display case of the first writer', async () => {
    await fixture.dbx.filesUpload({ path: '/Case/MixDown.WAV', contents: Buffer.from('a') });
    const byOtherCase = await fixture.dbx.filesGetMetadata({ path: '/CASE/mixdown.wav' });
    expect(byOtherCase.result).toMatchObject({ '.tag': 'file', path_display: '/Case/MixDown.WAV' });

    const conflict = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path: '/case/MIXDOWN.wav', contents: Buffer.from('b') }),
    );
    expect(conflict.status).toBe(409);
    expect(conflict.error.error_summary).toBe('path/conflict/file/..');
    const error = conflict.error.error as files.UploadErrorPath;
    expect(error['.tag']).toBe('path');
    expect(error.reason).toEqual({ '.tag': 'conflict', conflict: { '.tag': 'file' } });
    expect(error.upload_session_id).toBeTruthy();
  });

  it('follows the write modes: identical no-op, overwrite, update by rev, autorename', async () => {
    const first = (await fixture.dbx.filesUpload({ path: '/modes/a.txt', contents: Buffer.from('one') })).result;
    const same = (await fixture.dbx.filesUpload({ path: '/modes/a.txt', contents: Buffer.from('one') })).result;
    expect(same.rev).toBe(first.rev);

    const strict = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path: '/modes/a.txt', contents: Buffer.from('one'), strict_conflict: true }),
    );
    expect(strict.error.error_summary).toBe('path/conflict/file/..');

    const renamed = await fixture.dbx.filesUpload({
      path: '/modes/a.txt',
      contents: Buffer.from('two'),
      autorename: true,
    });
    expect(renamed.result.path_display).toBe('/modes/a (1).txt');

    const overwritten = await fixture.dbx.filesUpload({
      path: '/modes/a.txt',
      contents: Buffer.from('three'),
      mode: { '.tag': 'overwrite' },
    });
    expect(overwritten.result.id).toBe(first.id);
    expect(overwritten.result.rev).not.toBe(first.rev);

    const staleUpdate = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({
        path: '/modes/a.txt',
        contents: Buffer.from('four'),
        mode: { '.tag': 'update', update: first.rev },
      }),
    );
    expect(staleUpdate.error.error_summary).toBe('path/conflict/file/..');
    const update = await fixture.dbx.filesUpload({
      path: '/modes/a.txt',
      contents: Buffer.from('four'),
      mode: { '.tag': 'update', update: overwritten.result.rev },
    });
    expect(update.result.size).toBe(4);
  });

  it('answers lookups of missing paths with path/not_found and bad paths with 400 or malformed_path', async () => {
    const missing = await dropboxError<files.GetMetadataError>(fixture.dbx.filesGetMetadata({ path: '/nowhere' }));
    expect(missing.status).toBe(409);
    expect(missing.error).toEqual({
      error_summary: 'path/not_found/..',
      error: { '.tag': 'path', path: { '.tag': 'not_found' } },
    });

    const relative = await dropboxError(fixture.dbx.filesGetMetadata({ path: 'relative/path' }));
    expect(relative.status).toBe(400);
    expect(relative.error).toEqual(expect.stringContaining('did not match pattern'));

    const malformed = await dropboxError<files.GetMetadataError>(fixture.dbx.filesGetMetadata({ path: '/a//b' }));
    expect(malformed.error.error_summary).toBe('path/malformed_path/..');

    const badUpload = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path: '/bad//name.txt', contents: Buffer.from('x') }),
    );
    expect(badUpload.error.error_summary).toBe('path/malformed_path/..');

    const deleteMissing = await dropboxError<files.DeleteError>(fixture.dbx.filesDeleteV2({ path: '/nowhere' }));
    expect(deleteMissing.error.error_summary).toBe('path_lookup/not_found/..');
  });

  it('creates folders, reporting conflicts and autorenaming on request', async () => {
    const created = await fixture.dbx.filesCreateFolderV2({ path: '/Projects/Logic' });
    const folder: files.FolderMetadata = created.result.metadata;
    expect(folder).toMatchObject({ name: 'Logic', path_lower: '/projects/logic' });

    const conflict = await dropboxError<files.CreateFolderError>(
      fixture.dbx.filesCreateFolderV2({ path: '/projects/LOGIC' }),
    );
    expect(conflict.error).toEqual({
      error_summary: 'path/conflict/folder/..',
      error: { '.tag': 'path', path: { '.tag': 'conflict', conflict: { '.tag': 'folder' } } },
    });
    const renamed = await fixture.dbx.filesCreateFolderV2({ path: '/Projects/Logic', autorename: true });
    expect(renamed.result.metadata.name).toBe('Logic (1)');
  });

  it('gets metadata by id, moves and deletes, keeping ids', async () => {
    const file = (await fixture.dbx.filesUpload({ path: '/move/src.txt', contents: Buffer.from('x') })).result;
    const byId = await fixture.dbx.filesGetMetadata({ path: file.id });
    expect(byId.result.path_display).toBe('/move/src.txt');

    const moved = await fixture.dbx.filesMoveV2({ from_path: file.id, to_path: '/moved/Dest.txt' });
    expect(moved.result.metadata).toMatchObject({ '.tag': 'file', id: file.id, path_display: '/moved/Dest.txt' });

    // A taken name is a conflict under `to` (autorename off), and the file stays where it was.
    await fixture.dbx.filesUpload({ path: '/moved/Taken.txt', contents: Buffer.from('other') });
    const taken = await dropboxError<files.RelocationError>(
      fixture.dbx.filesMoveV2({ from_path: file.id, to_path: '/moved/taken.txt' }),
    );
    expect(taken.status).toBe(409);
    expect(taken.error.error_summary).toMatch(/^to\/conflict\/file/);
    expect((await fixture.dbx.filesGetMetadata({ path: file.id })).result).toMatchObject({
      path_display: '/moved/Dest.txt',
    });
    await fixture.dbx.filesDeleteV2({ path: '/moved/Taken.txt' });

    const intoItself = await dropboxError<files.RelocationError>(
      fixture.dbx.filesMoveV2({ from_path: '/moved', to_path: '/moved/inner' }),
    );
    expect(intoItself.error.error_summary).toBe('cant_move_folder_into_itself/..');

    const deleted = await fixture.dbx.filesDeleteV2({ path: '/moved' });
    expect(deleted.result.metadata).toMatchObject({ '.tag': 'folder', path_display: '/moved' });
    const gone = await dropboxError(fixture.dbx.filesGetMetadata({ path: file.id }));
    expect(gone.status).toBe(409);
  });

  it('lists folders in pages, then reports changes, and resets invalidated cursors', async () => {
    for (const name of ['c.txt', 'a.txt', 'b.txt']) {
      await fixture.dbx.filesUpload({ path: `/list/${name}`, contents: Buffer.from(name) });
    }
    await fixture.dbx.filesUpload({ path: '/list/sub/deep.txt', contents: Buffer.from('deep') });

    const first = (await fixture.dbx.filesListFolder({ path: '/list', limit: 2 })).result;
    expect(first.entries.map((entry) => entry.name)).toEqual(['a.txt', 'b.txt']);
    expect(first.has_more).toBe(true);
    const second = (await fixture.dbx.filesListFolderContinue({ cursor: first.cursor })).result;
    expect(second.entries.map((entry) => entry.name)).toEqual(['c.txt', 'sub']);
    expect(second.has_more).toBe(false);

    const recursive = (await fixture.dbx.filesListFolder({ path: '/list', recursive: true })).result;
    expect(recursive.entries.map((entry) => entry.path_lower)).toEqual([
      '/list',
      '/list/a.txt',
      '/list/b.txt',
      '/list/c.txt',
      '/list/sub',
      '/list/sub/deep.txt',
    ]);

    await fixture.dbx.filesDeleteV2({ path: '/list/a.txt' });
    await fixture.dbx.filesUpload({ path: '/list/d.txt', contents: Buffer.from('d') });
    const changes = (await fixture.dbx.filesListFolderContinue({ cursor: second.cursor })).result;
    expect(changes.entries.map((entry) => [entry['.tag'], entry.name])).toEqual([
      ['deleted', 'a.txt'],
      ['file', 'd.txt'],
    ]);

    fixture.emulator.control.invalidateCursors({ account_id: fixture.account.account_id });
    const reset = await dropboxError<files.ListFolderContinueError>(
      fixture.dbx.filesListFolderContinue({ cursor: changes.cursor }),
    );
    expect(reset.status).toBe(409);
    expect(reset.error).toEqual({ error_summary: 'reset/..', error: { '.tag': 'reset' } });

    const notFolder = await dropboxError<files.ListFolderError>(fixture.dbx.filesListFolder({ path: '/list/b.txt' }));
    expect(notFolder.error.error_summary).toBe('path/not_folder/..');
  });

  it('copies in batches through async jobs that are in progress before they complete', async () => {
    const source = (await fixture.dbx.filesUpload({ path: '/copy/src.wav', contents: Buffer.from('stem') })).result;
    await fixture.dbx.filesUpload({ path: '/copy-dest/taken.wav', contents: Buffer.from('other') });
    const launch = (
      await fixture.dbx.filesCopyBatchV2({
        entries: [
          { from_path: source.id, to_path: '/copy-dest/stem.wav' },
          { from_path: '/copy/missing.wav', to_path: '/copy-dest/missing.wav' },
          { from_path: source.id, to_path: '/copy-dest/taken.wav' },
        ],
      })
    ).result;
    if (launch['.tag'] !== 'async_job_id') throw new Error('expected an async job');

    const polled: files.RelocationBatchV2JobStatus[] = [];
    for (;;) {
      const status = (await fixture.dbx.filesCopyBatchCheckV2({ async_job_id: launch.async_job_id })).result;
      polled.push(status);
      if (status['.tag'] !== 'in_progress') break;
    }
    expect(polled[0]['.tag']).toBe('in_progress');
    const done = polled[polled.length - 1];
    if (done['.tag'] !== 'complete') throw new Error('expected completion');
    const [copied, missing, taken] = done.entries;
    if (copied['.tag'] !== 'success') throw new Error('expected the copy to succeed');
    expect(copied.success).toMatchObject({ '.tag': 'file', path_display: '/copy-dest/stem.wav' });
    expect((copied.success as files.FileMetadataReference).content_hash).toBe(source.content_hash);
    expect(missing).toEqual({
      '.tag': 'failure',
      failure: {
        '.tag': 'relocation_error',
        relocation_error: { '.tag': 'from_lookup', from_lookup: { '.tag': 'not_found' } },
      },
    });
    expect(taken).toEqual({
      '.tag': 'failure',
      failure: {
        '.tag': 'relocation_error',
        relocation_error: { '.tag': 'to', to: { '.tag': 'conflict', conflict: { '.tag': 'file' } } },
      },
    });

    const unknownJob = await dropboxError(fixture.dbx.filesCopyBatchCheckV2({ async_job_id: 'dbjid:nope' }));
    expect(unknownJob.error.error_summary).toBe('invalid_async_job_id/..');
  });

  it('downloads files and zips folders', async () => {
    await fixture.dbx.filesUpload({
      path: '/Bundle.logicx/Alternatives/000/Project',
      contents: Buffer.from('project'),
    });
    await fixture.dbx.filesUpload({
      path: '/Bundle.logicx/Resources/ProjectInformation',
      contents: Buffer.from('info'),
    });

    const download = await fixture.dbx.filesDownload({ path: '/bundle.logicx/resources/projectinformation' });
    const downloaded = download.result as files.FileMetadata & { fileBinary: Buffer };
    expect(downloaded.fileBinary.toString()).toBe('info');
    expect(downloaded.name).toBe('ProjectInformation');

    const zip = await fixture.dbx.filesDownloadZip({ path: '/Bundle.logicx' });
    const zipped = zip.result as files.DownloadZipResult & { fileBinary: Buffer };
    expect(zipped.metadata.name).toBe('Bundle.logicx');
    const names = zipEntryNames(zipped.fileBinary);
    expect(names).toEqual(
      expect.arrayContaining([
        'Bundle.logicx/',
        'Bundle.logicx/Alternatives/000/Project',
        'Bundle.logicx/Resources/ProjectInformation',
      ]),
    );

    const notFolder = await dropboxError<files.DownloadZipError>(
      fixture.dbx.filesDownloadZip({ path: '/Bundle.logicx/Resources/ProjectInformation' }),
    );
    expect(notFolder.error.error_summary).toBe('path/not_folder/..');
  });
});

/** Names from a ZIP's central directory. */
function zipEntryNames(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    const extra = zip.readUInt16LE(offset + 30);
    const comment = zip.readUInt16LE(offset + 32);
    names.push(zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'));
    offset += 46 + nameLength + extra + comment;
  }
  return names;
}
