import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { files } from 'dropbox';
import { DropboxContentHasher, dropboxContentHash } from './content-hash';
import { EmulatorFixture, dropboxError, startFixture } from './spec-support';

/** V8's gc(), which Jest doesn't expose: memory checks must not see garbage that merely wasn't collected yet. */
function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('upload sessions', () => {
  let fixture: EmulatorFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });

  afterAll(async () => {
    await fixture.emulator.close();
  });

  it('resumes after incorrect_offset and commits closed sessions with finish_batch_v2', async () => {
    const { dbx } = fixture;
    const first = (await dbx.filesUploadSessionStart({ contents: Buffer.from('stem-') })).result.session_id;
    await dbx.filesUploadSessionAppendV2({
      cursor: { session_id: first, offset: 5 },
      contents: Buffer.from('vocals-'),
    });

    // A retried append whose first attempt did arrive: the offset is stale.
    const stale = await dropboxError<files.UploadSessionAppendError>(
      dbx.filesUploadSessionAppendV2({ cursor: { session_id: first, offset: 5 }, contents: Buffer.from('vocals-') }),
    );
    expect(stale.status).toBe(409);
    expect(stale.error).toEqual({
      error_summary: 'incorrect_offset/..',
      error: { '.tag': 'incorrect_offset', correct_offset: 12 },
    });
    const resumeAt = (stale.error.error as files.UploadSessionLookupErrorIncorrectOffset).correct_offset;
    await dbx.filesUploadSessionAppendV2({
      cursor: { session_id: first, offset: resumeAt },
      contents: Buffer.from('take2'),
      close: true,
    });

    const closed = await dropboxError<files.UploadSessionAppendError>(
      dbx.filesUploadSessionAppendV2({ cursor: { session_id: first, offset: 17 }, contents: Buffer.from('more') }),
    );
    expect(closed.error.error_summary).toBe('closed/..');

    const open = (await dbx.filesUploadSessionStart({ contents: Buffer.from('open') })).result.session_id;
    const result = (
      await dbx.filesUploadSessionFinishBatchV2({
        entries: [
          { cursor: { session_id: first, offset: 17 }, commit: { path: '/Stems/Vocals.wav' } },
          { cursor: { session_id: open, offset: 4 }, commit: { path: '/Stems/Open.wav' } },
          { cursor: { session_id: 'pid_upload_session:unknown', offset: 0 }, commit: { path: '/Stems/Unknown.wav' } },
        ],
      })
    ).result;
    const [committed, notClosed, unknown] = result.entries;
    if (committed['.tag'] !== 'success') throw new Error('expected the closed session to commit');
    expect(committed).toMatchObject({ path_display: '/Stems/Vocals.wav', size: 17 });
    expect(committed.content_hash).toBe(dropboxContentHash(Buffer.from('stem-vocals-take2')));
    expect(notClosed).toEqual({
      '.tag': 'failure',
      failure: { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_closed' } },
    });
    expect(unknown).toEqual({
      '.tag': 'failure',
      failure: { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } },
    });

    const download = await dbx.filesDownload({ path: '/stems/vocals.wav' });
    expect((download.result as files.FileMetadata & { fileBinary: Buffer }).fileBinary.toString()).toBe(
      'stem-vocals-take2',
    );

    const finishedAlready = await dropboxError<files.UploadSessionFinishError>(
      dbx.filesUploadSessionFinish({ cursor: { session_id: first, offset: 17 }, commit: { path: '/again.wav' } }),
    );
    expect(finishedAlready.error.error_summary).toBe('lookup_failed/not_found/..');
  });

  it('keeps a session whose finish hit a conflict, so the finish can be retried', async () => {
    const { dbx } = fixture;
    await dbx.filesUpload({ path: '/Conflict/Mix.wav', contents: Buffer.from('original') });
    const session = (await dbx.filesUploadSessionStart({ contents: Buffer.from('new ') })).result.session_id;
    const conflict = await dropboxError<files.UploadSessionFinishError>(
      dbx.filesUploadSessionFinish({
        cursor: { session_id: session, offset: 4 },
        commit: { path: '/conflict/mix.wav' },
        contents: Buffer.from('mix'),
      }),
    );
    expect(conflict.error).toEqual({
      error_summary: 'path/conflict/file/..',
      error: { '.tag': 'path', path: { '.tag': 'conflict', conflict: { '.tag': 'file' } } },
    });
    const retried = await dbx.filesUploadSessionFinish({
      cursor: { session_id: session, offset: 7 },
      commit: { path: '/conflict/mix.wav', mode: { '.tag': 'overwrite' } },
    });
    expect(retried.result.size).toBe(7);
    expect(retried.result.content_hash).toBe(dropboxContentHash(Buffer.from('new mix')));
  });

  it('rejects data whose content_hash argument does not match', async () => {
    const mismatch = await dropboxError<files.UploadError>(
      fixture.dbx.filesUpload({
        path: '/hash.txt',
        contents: Buffer.from('abc'),
        content_hash: dropboxContentHash(Buffer.from('abd')),
      }),
    );
    expect(mismatch.error.error_summary).toBe('content_hash_mismatch/..');
  });

  it('streams a ~50 MB upload to disk without holding it in memory', async () => {
    const size = 50 * 1024 * 1024;
    const chunkSize = 256 * 1024;
    const collectGarbage = exposedGc();
    const expected = new DropboxContentHasher();
    let sent = 0;
    let retainedAtEnd = 0;
    collectGarbage();
    const before = process.memoryUsage();
    const source = new Readable({
      read() {
        if (sent >= size) {
          // All bytes are sent: an emulator that buffered the body would be holding nearly all of them now.
          collectGarbage();
          retainedAtEnd = process.memoryUsage().arrayBuffers - before.arrayBuffers;
          return this.push(null);
        }
        const chunk = Buffer.alloc(chunkSize, sent / chunkSize);
        expected.update(chunk);
        sent += chunk.length;
        this.push(chunk);
      },
    });
    const { result } = await fixture.dbx.filesUpload({ path: '/Big/Session.wav', contents: source });
    collectGarbage();
    const rssGrowth = process.memoryUsage().rss - before.rss;

    expect(result.size).toBe(size);
    expect(result.content_hash).toBe(expected.digest());
    // An emulator that buffered the body would retain all 50 MB here. The margin is wide because other work in the
    // same Jest worker process (sockets and timers of earlier spec files winding down) also allocates buffers.
    expect(retainedAtEnd).toBeLessThan(size * 0.8);
    expect(rssGrowth).toBeLessThan(size);
  });
});
