import type { files } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe('names Dropbox refuses to write', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it.each(['.DS_Store', '.ds_store', 'desktop.ini', 'Thumbs.db', 'Icon\r', '.dropbox', '.dropbox.attr'])(
    'files/upload of %j answers path/disallowed_name (UploadWriteFailed)',
    async (name) => {
      const refused = await dropboxError<files.UploadError>(
        fixture.dbx.filesUpload({ path: `/Track/${name}`, contents: Buffer.from('x') }),
      );
      expect(refused.status).toBe(409);
      expect(refused.error.error).toEqual({
        '.tag': 'path',
        reason: { '.tag': 'disallowed_name' },
        upload_session_id: expect.any(String),
      });
    },
  );

  it.each([
    ['a name ending in a space', '/Track/take .wav '],
    ['a folder ending in a space', '/Track /take.wav'],
    ['a component over 255 characters', `/Track/${'x'.repeat(252)}.wav`],
  ])('files/upload of %s answers path/malformed_path', async (_label, path) => {
    const refused = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({ path, contents: Buffer.from('x') }),
    );
    expect(refused.error.error_summary).toBe('path/malformed_path/..');
  });

  it('accepts names that only look alike, a component of exactly 255 characters and emoji by default', async () => {
    for (const name of ['.DS_Store.wav', 'Icon.png', `${'x'.repeat(251)}.wav`, 'Sunset 🌅.wav']) {
      const { result } = await fixture.dbx.filesUpload({ path: `/Fine/${name}`, contents: Buffer.from(name) });
      expect(result.name).toBe(name);
    }
  });

  it('refuses the same names for folders, copies, moves and upload_session/finish; lookups are unaffected', async () => {
    const folder = await dropboxError<files.CreateFolderError>(
      fixture.dbx.filesCreateFolderV2({ path: '/Track/.dropbox' }),
    );
    expect(folder.error.error_summary).toBe('path/disallowed_name/..');
    await fixture.dbx.filesUpload({ path: '/Track/ok.wav', contents: Buffer.from('ok') });
    const moved = await dropboxError<files.RelocationError>(
      fixture.dbx.filesMoveV2({ from_path: '/Track/ok.wav', to_path: '/Track/Thumbs.db' }),
    );
    expect(moved.error.error_summary).toBe('to/disallowed_name/..');
    const copied = await fixture.dbx.filesCopyBatchV2({
      entries: [{ from_path: '/Track/ok.wav', to_path: '/Track/desktop.ini' }],
    });
    expect(copied.result).toMatchObject({
      entries: [
        { '.tag': 'failure', failure: { relocation_error: { '.tag': 'to', to: { '.tag': 'disallowed_name' } } } },
      ],
    });
    const session = await fixture.dbx.filesUploadSessionStart({ close: true, contents: Buffer.from('abc') });
    const finish = await dropboxError<files.UploadSessionFinishError>(
      fixture.dbx.filesUploadSessionFinish({
        cursor: { session_id: session.result.session_id, offset: 3 },
        commit: { path: '/Track/.DS_Store' },
      }),
    );
    expect(finish.error.error).toEqual({ '.tag': 'path', path: { '.tag': 'disallowed_name' } });
    const lookup = await dropboxError<files.GetMetadataError>(
      fixture.dbx.filesGetMetadata({ path: '/Track/.DS_Store' }),
    );
    expect(lookup.error.error_summary).toBe('path/not_found/..');
  });

  it('with refuseNonBmpPaths, answers a path with emoji with a 400 in plain text, as the API did for years', async () => {
    fixture.emulator.control.updateSettings({ refuseNonBmpPaths: true });
    try {
      const refused = await dropboxError(fixture.dbx.filesCreateFolderV2({ path: '/Sunset 🌅 Drive' }));
      expect(refused.status).toBe(400);
      expect(refused.error as unknown as string).toContain('characters outside the Basic Multilingual Plane');
      const upload = await dropboxError(fixture.dbx.filesUpload({ path: '/x/🔥.wav', contents: Buffer.from('x') }));
      expect(upload.status).toBe(400);
      // Accents and other characters of the BMP are fine.
      expect((await fixture.dbx.filesCreateFolderV2({ path: '/Café – déjà vu' })).status).toBe(200);
    } finally {
      fixture.emulator.control.updateSettings({ refuseNonBmpPaths: false });
    }
  });
});
