import type { files } from 'dropbox';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

describe("files Dropbox lists but can't serve", () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
    for (const name of ['Lyrics.gdoc', 'Plan.paper', 'Take.wav', 'Banned.wav', 'Restricted.wav']) {
      await fixture.dbx.filesUpload({ path: `/Track/${name}`, contents: Buffer.from(name) });
    }
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('lists cloud documents with is_downloadable: false and answers get_temporary_link and download with unsupported_file', async () => {
    const listing = (await fixture.dbx.filesListFolder({ path: '/Track' })).result
      .entries as files.FileMetadataReference[];
    const downloadable = Object.fromEntries(listing.map((e) => [e.name, e.is_downloadable]));
    expect(downloadable).toMatchObject({ 'Lyrics.gdoc': false, 'Plan.paper': false, 'Take.wav': true });
    const link = await dropboxError<files.GetTemporaryLinkError>(
      fixture.dbx.filesGetTemporaryLink({ path: '/Track/Lyrics.gdoc' }),
    );
    expect(link.status).toBe(409);
    expect(link.error.error).toEqual({ '.tag': 'unsupported_file' });
    const download = await dropboxError<files.DownloadError>(fixture.dbx.filesDownload({ path: '/Track/Plan.paper' }));
    expect(download.error.error_summary).toBe('unsupported_file/..');
    expect((await fixture.dbx.filesGetTemporaryLink({ path: '/Track/Take.wav' })).status).toBe(200);
  });

  it('answers restricted_content and not_allowed for files set so through the control API, until cleared', async () => {
    const set = (path: string, block: string | null) =>
      fetch(`${fixture.emulator.url}/_emulator/files/serving`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ account_id: fixture.account.account_id, path, block }),
      });
    expect((await set('/Track/Restricted.wav', 'restricted_content')).status).toBe(200);
    expect((await set('/Track/Banned.wav', 'not_allowed')).status).toBe(200);
    const restricted = await dropboxError<files.GetTemporaryLinkError>(
      fixture.dbx.filesGetTemporaryLink({ path: '/Track/Restricted.wav' }),
    );
    expect(restricted.error.error).toEqual({ '.tag': 'path', path: { '.tag': 'restricted_content' } });
    const banned = await dropboxError<files.GetTemporaryLinkError>(
      fixture.dbx.filesGetTemporaryLink({ path: '/Track/Banned.wav' }),
    );
    expect(banned.error.error).toEqual({ '.tag': 'not_allowed' });
    // Still listed as downloadable: Dropbox only says so when asked for the bytes.
    const meta = (await fixture.dbx.filesGetMetadata({ path: '/Track/Banned.wav' }))
      .result as files.FileMetadataReference;
    expect(meta.is_downloadable).toBe(true);
    expect((await set('/Track/Banned.wav', null)).status).toBe(200);
    expect((await fixture.dbx.filesGetTemporaryLink({ path: '/Track/Banned.wav' })).status).toBe(200);
    expect((await set('/Track/none.wav', 'not_allowed')).status).toBe(404);
    expect((await set('/Track/Take.wav', 'nope')).status).toBe(400);
  });
});
