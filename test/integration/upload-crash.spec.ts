import { MikroORM } from '@mikro-orm/postgresql';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { emulatorDropboxClient, dropboxContentHash, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { eventually } from '../support/poll';
import { signedInUser, TestUser } from '../support/users';

const ROOT = join(__dirname, '..', '..');

/** A worker process (src/worker.ts) of the same installation as the test app. */
function startWorker(t: TestApp): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['-r', './test/support/register-ts.js', 'src/worker.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...t.env, WORKERS: 'on', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

const until = <T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> =>
  eventually(read, ok, { what, timeoutMs });

describe('a worker killed in the middle of an upload', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: TestUser;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    emulator = await startTestEmulator();
    // The web process takes the upload; only worker processes move it into Dropbox.
    t = await startTestApp({
      env: {
        ...dropboxEnv(emulator),
        SPOOL_DIR: `/tmp/pd-crash-spool-${process.pid}`,
        DROPBOX_UPLOAD_CHUNK_MIB: '4',
        JOB_LOCK_SECONDS: '5',
      },
      workers: false,
    });
    producer = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'crash@dropbox.test' });
  });
  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await t?.close();
    await emulator?.close();
  });

  it('finishes after a restart, with the file in Dropbox exactly once', async () => {
    const csrf = await producer.browser.csrfFrom('/settings');
    const track = await producer.browser.agent
      .post('/api/v1/tracks')
      .set('X-CSRF-Token', csrf)
      .send({ title: 'Crash Test' });
    const data = randomBytes(40 * 1024 * 1024);
    const upload = await producer.browser.agent
      .post(`/api/v1/tracks/${track.body.id}/uploads`)
      .set('X-CSRF-Token', csrf)
      .field('category', 'stem')
      .attach('files', data, 'Drums.wav');
    expect(upload.status).toBe(201);
    const uploadId = upload.body[0].id as string;
    // Slow appends down so the kill lands mid-upload.
    emulator.control.addFault({ route: 'files/upload_session/append_v2', latencyMs: 400 });

    const row = () => t.app.get(MikroORM).em.fork().findOneOrFail(Upload, { id: uploadId });
    const first = startWorker(t);
    workers.push(first.child);
    const midway = await until(
      row,
      (u) => u.bytesUploaded >= 8 * 1024 * 1024 && u.status === 'uploading',
      'the first chunks',
      90_000,
    );
    first.child.kill('SIGKILL');
    expect(midway.status).toBe('uploading');
    expect(midway.checkpoint?.offset).toBeGreaterThan(0);

    emulator.control.clearFaults();
    const second = startWorker(t);
    workers.push(second.child);
    const done = await until(row, (u) => u.status === 'done' || u.status === 'failed', 'the upload to finish', 90_000);
    expect({ status: done.status, error: done.error }).toEqual({ status: 'done', error: null });

    const dbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ email: 'crash@dropbox.test' }).access_token,
    );
    const stems = (await dbx.filesListFolder({ path: `${track.body.dropboxFolderPath}/Stems` })).result.entries;
    expect(stems.map((e) => e.name)).toEqual(['Drums.wav']);
    expect((stems[0] as { content_hash?: string }).content_hash).toBe(dropboxContentHash(data));
    // One session in all: the second worker resumed the first one's instead of starting over.
    expect(emulator.control.counters().callsByRoute['files/upload_session/start']).toBe(1);
    const library = await producer.browser.agent.get(`/api/v1/tracks/${track.body.id}/library`);
    expect(
      library.body.items.filter((i: { name: string; imported: boolean }) => i.name === 'Drums.wav' && i.imported),
    ).toHaveLength(1);
    // Two worker processes start from source on a possibly loaded machine: allow for that, not for a hang.
  }, 240_000);
});
