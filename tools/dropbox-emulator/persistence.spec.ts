import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { files } from 'dropbox';
import { emulatorDropboxClient, startDropboxEmulator } from './index';
import { dropboxError } from './spec-support';

describe('persistence and the CLI', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dropbox-emulator-spec-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps accounts, tokens, files, shares, sessions and links across a restart', async () => {
    const first = await startDropboxEmulator({ dataDir });
    const account = first.control.registerAccount({ email: 'producer@example.com' });
    const token = first.control.issueToken({ account_id: account.account_id }).access_token;
    const dbx = emulatorDropboxClient(first.url, token);
    await dbx.filesUpload({ path: '/Keep/Old.wav', contents: Buffer.from('first take') });
    const file = (
      await dbx.filesUpload({
        path: '/Keep/Old.wav',
        contents: Buffer.from('second take'),
        mode: { '.tag': 'overwrite' },
      })
    ).result;
    const share = (await dbx.sharingShareFolder({ path: '/Keep' })).result;
    if (share['.tag'] !== 'complete') throw new Error('expected the share to complete at once');
    await dbx.sharingAddFolderMember({
      shared_folder_id: share.shared_folder_id,
      members: [{ member: { '.tag': 'email', email: 'guest@example.com' } }],
    });
    const session = (await dbx.filesUploadSessionStart({ contents: Buffer.from('half ') })).result.session_id;
    const cursor = (await dbx.filesListFolder({ path: '/Keep' })).result.cursor;
    const link = (await dbx.filesGetTemporaryLink({ path: '/Keep/Old.wav' })).result.link;
    await first.close();

    const second = await startDropboxEmulator({ dataDir });
    try {
      const again = emulatorDropboxClient(second.url, token);
      const reloaded = (await again.filesGetMetadata({ path: file.id })).result as files.FileMetadataReference;
      expect(reloaded).toMatchObject({ path_display: '/Keep/Old.wav', rev: file.rev, content_hash: file.content_hash });
      const download = (await again.filesDownload({ path: '/keep/old.wav' })).result as files.FileMetadata & {
        fileBinary: Buffer;
      };
      expect(download.fileBinary.toString()).toBe('second take');

      const members = (await again.sharingListFolderMembers({ shared_folder_id: share.shared_folder_id })).result;
      expect(members.invitees).toHaveLength(1);

      const finished = await again.filesUploadSessionFinish({
        cursor: { session_id: session, offset: 5 },
        commit: { path: '/Keep/Resumed.wav' },
        contents: Buffer.from('done'),
      });
      expect(finished.result.size).toBe(9);

      // The link's port changed with the restart; its token did not.
      const path = new URL(link).pathname;
      expect(await (await fetch(`${second.url}${path}`)).text()).toBe('second take');

      const reset = await dropboxError(again.filesListFolderContinue({ cursor }));
      expect(reset.error.error_summary).toBe('reset/..');

      // The overwritten revision stays in the file's history (list_revisions, restore), so its bytes stay too.
      expect(await readdir(join(dataDir, 'blobs'))).toHaveLength(3);
      const history = (await again.filesListRevisions({ path: file.id })).result.entries;
      expect(history).toHaveLength(2);
    } finally {
      await second.close();
    }
  });

  it('runs standalone from the CLI and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(__dirname, '../../test/support/register-ts.js'),
        join(__dirname, 'cli.ts'),
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--strict',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = output.match(/listening on (http:\/\/\S+)/);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`CLI exited with ${code}: ${output}`)));
    });
    const settings = (await (await fetch(`${url}/_emulator/settings`)).json()) as { strict: boolean };
    expect(settings.strict).toBe(true);
    await fetch(`${url}/_emulator/accounts`, { method: 'POST', body: JSON.stringify({ email: 'cli@example.com' }) });

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await readdir(dataDir)).toContain('state.json');
  });
});
