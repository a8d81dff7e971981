import { MikroORM } from '@mikro-orm/postgresql';
import { Queue } from 'bullmq';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dropboxContentHash, emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { bullConnection } from '../../src/jobs/redis-connection';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { SPOOL_HOST_GONE_MESSAGE } from '../../src/modules/files/spool-hosts';
import { spoolHostQueueName } from '../../src/queues/queues';
import { startTestApp, TestApp, WebClient } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { eventually } from '../support/poll';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { signedInUser, TestUser } from '../support/users';

const ROOT = join(__dirname, '..', '..');

/** A worker process (src/worker.ts) of the installation, on its own spool and host name; resolves once it runs. */
function startWorker(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const child = spawn(process.execPath, ['-r', './test/support/register-ts.js', 'src/worker.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, WORKERS: 'on', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker started')) resolve({ child, output: () => out });
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before starting:\n${out.slice(-2000)}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const filesIn = async (dir: string) => readdir(dir).catch(() => [] as string[]);

/**
 * Web and workers on hosts that share no disk (SPOOL_SHARED=false, each process its own SPOOL_DIR and SPOOL_HOST):
 * the web process that received an upload sends it into Dropbox itself, from its own host's queue; a host that dies
 * mid-transfer leaves its uploads failed with a message to upload again, and nothing is stored twice, even when the
 * host comes back.
 */
describe('uploads when web and workers share no disk', () => {
  const base = `/tmp/pd-split-spool-${process.pid}`;
  const dirs = { webA: `${base}/web-a`, workerB: `${base}/worker-b`, webC: `${base}/web-c` };
  let emulator: RunningDropboxEmulator;
  let web: TestApp;
  let producer: TestUser;
  let worker: { child: ChildProcess; output: () => string } | undefined;
  const servers: ServerProcess[] = [];
  const dropboxEmail = 'split-spool@dropbox.test';

  const row = (id: string) => web.app.get(MikroORM).em.fork().findOneOrFail(Upload, { id });
  const dbx = () =>
    emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: dropboxEmail }).access_token);
  const namesIn = async (path: string) =>
    (await dbx().filesListFolder({ path })).result.entries.map((e) => ({
      name: e.name,
      hash: (e as { content_hash?: string }).content_hash,
    }));

  // One token per client session, as the dashboard's pages use it.
  const tokens = new Map<WebClient, string>();
  const csrf = async (client: WebClient) =>
    tokens.get(client) ?? tokens.set(client, await client.csrfFrom('/settings')).get(client)!;

  async function newTrack(client: WebClient, title: string): Promise<{ id: string; dropboxFolderPath: string }> {
    const token = await csrf(client);
    const made = await client.agent.post('/api/v1/tracks').set('X-CSRF-Token', token).send({ title });
    expect({ status: made.status, body: made.status === 201 ? null : made.body }).toEqual({ status: 201, body: null });
    return made.body;
  }

  async function upload(client: WebClient, trackId: string, files: Array<{ name: string; data: Buffer }>) {
    // The token first: the agent attaches its cookies (the CSRF cookie among them) when the request is made.
    const token = await csrf(client);
    let req = client.agent
      .post(`/api/v1/tracks/${trackId}/uploads`)
      .set('X-CSRF-Token', token)
      .field('category', 'project');
    for (const f of files) req = req.attach('files', f.data, f.name);
    const res = await req;
    expect(res.status).toBe(201);
    return (res.body as Array<{ id: string }>).map((u) => u.id);
  }

  beforeAll(async () => {
    await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
    emulator = await startTestEmulator();
    web = await startTestApp({
      workers: false,
      env: {
        ...dropboxEnv(emulator),
        SPOOL_SHARED: 'false',
        SPOOL_HOST: 'web-a',
        SPOOL_DIR: dirs.webA,
        SPOOL_HOST_TIMEOUT_SECONDS: '3',
        JOB_LOCK_SECONDS: '5',
        DROPBOX_UPLOAD_CHUNK_MIB: '4',
      },
    });
    producer = await signedInUser(web);
    await seedConnection(web, emulator, producer, { email: dropboxEmail });
    // Every other job (previews, pipelines…) runs on this worker; it has a disk of its own and another host name.
    worker = await startWorker({ ...web.env, SPOOL_DIR: dirs.workerB, SPOOL_HOST: 'worker-b' });
  }, 120_000);

  afterAll(async () => {
    if (worker) await killed(worker.child);
    for (const s of servers) await killed(s.child);
    await web?.close();
    await emulator?.close();
    await rm(base, { recursive: true, force: true });
  });

  it('the receiving web process sends its uploads into Dropbox: each file once, nothing left on either spool', async () => {
    const track = await newTrack(producer.browser, 'Split Spool');
    const files = [1, 2, 3].map((i) => ({ name: `Session ${i}.als`, data: randomBytes(300_000 + i * 1000) }));
    const ids = await upload(producer.browser, track.id, files);
    expect(ids).toHaveLength(3);

    for (const id of ids) {
      const done = await eventually(
        () => row(id),
        (u) => u.status === 'done' || u.status === 'failed',
        { what: 'the upload', timeoutMs: 60_000 },
      );
      expect({ status: done.status, error: done.error, spoolHost: done.spoolHost }).toEqual({
        status: 'done',
        error: null,
        spoolHost: 'web-a',
      });
    }
    const stored = await namesIn(`${track.dropboxFolderPath}/Projects`);
    expect(stored.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      files.map((f) => ({ name: f.name, hash: dropboxContentHash(f.data) })),
    );
    // The spooled file goes just after the row is done.
    await eventually(
      () => filesIn(dirs.webA),
      (left) => left.length === 0,
      { what: "web-a's spool to be cleared", timeoutMs: 30_000 },
    );
    expect(await filesIn(dirs.workerB)).toEqual([]);
    // The worker, whose disk has none of these bytes, never took an upload job.
    expect(worker!.output()).not.toContain('upload stored in Dropbox');
  }, 120_000);

  it('a web host that dies mid-transfer: the producer is told to upload again, and the file is stored once', async () => {
    const hostC = await startServerProcess({
      ...web.env,
      SPOOL_DIR: dirs.webC,
      SPOOL_HOST: 'web-c',
      LOG_LEVEL: 'info',
    });
    servers.push(hostC);
    const onC = new WebClient(hostC.url);
    expect((await onC.signIn(producer.email, producer.password)).status).toBe(303);
    const track = await newTrack(onC, 'Host Goes Away');
    const data = randomBytes(40 * 1024 * 1024);
    // Slow appends down so the kill lands mid-transfer.
    emulator.control.addFault({ route: 'files/upload_session/append_v2', latencyMs: 400 });
    const [id] = await upload(onC, track.id, [{ name: 'Big Session.als', data }]);
    const midway = await eventually(
      () => row(id),
      (u) => u.status === 'uploading' && u.bytesUploaded >= 8 * 1024 * 1024,
      {
        what: 'the first chunks',
        timeoutMs: 90_000,
      },
    );
    expect(midway.spoolHost).toBe('web-c');
    await killed(hostC.child);
    emulator.control.clearFaults();

    // web-a's sweep finds web-c's heartbeat gone: the producer sees why, on any web process.
    await eventually(
      () => row(id),
      (u) => u.status === 'failed',
      { what: 'the upload to be failed', timeoutMs: 60_000 },
    );
    const seen = await producer.browser.agent.get(`/api/v1/uploads/${id}`).set('Accept', 'application/json');
    expect(seen.status).toBe(200);
    expect({ status: seen.body.status, error: seen.body.error }).toEqual({
      status: 'failed',
      error: SPOOL_HOST_GONE_MESSAGE,
    });
    // Its bytes went with the host: a retry says so rather than queueing what nobody can send.
    const token = await csrf(producer.browser);
    const retried = await producer.browser.agent
      .post(`/api/v1/uploads/${id}/retry`)
      .set('X-CSRF-Token', token)
      .set('Accept', 'application/json');
    expect(retried.status).toBe(400);
    expect(JSON.stringify(retried.body)).toContain('upload it again');
    expect(JSON.stringify(retried.body)).toMatch(/"field":"id"/);
    expect((await row(id)).status).toBe('failed');
    expect(await namesIn(`${track.dropboxFolderPath}/Projects`).catch(() => [])).toEqual([]);

    // The producer uploads it again, here.
    const [again] = await upload(producer.browser, track.id, [{ name: 'Big Session.als', data }]);
    const done = await eventually(
      () => row(again),
      (u) => u.status === 'done' || u.status === 'failed',
      { what: 'the new upload', timeoutMs: 90_000 },
    );
    expect({ status: done.status, error: done.error }).toEqual({ status: 'done', error: null });

    // web-c comes back with its disk: its interrupted job runs again, finds the upload failed and sends nothing.
    const back = await startServerProcess({ ...web.env, SPOOL_DIR: dirs.webC, SPOOL_HOST: 'web-c', LOG_LEVEL: 'info' });
    servers.push(back);
    const queue = new Queue(spoolHostQueueName('web-c'), {
      connection: bullConnection(web.config),
      prefix: `${web.config.redis.prefix}-bull`,
    });
    try {
      await eventually(
        () => queue.getJobCounts('active', 'wait', 'delayed', 'completed', 'failed'),
        (c) => c.active + c.wait + c.delayed === 0 && c.completed + c.failed >= 1,
        { what: "web-c's interrupted job to run again", timeoutMs: 90_000 },
      );
    } finally {
      await queue.close();
    }
    expect(back.output()).toContain('upload job skipped: the upload has failed');
    expect((await row(id)).status).toBe('failed');
    expect(await namesIn(`${track.dropboxFolderPath}/Projects`)).toEqual([
      { name: 'Big Session.als', hash: dropboxContentHash(data) },
    ]);
    const library = await producer.browser.agent.get(`/api/v1/tracks/${track.id}/library`);
    expect(
      library.body.items.filter((i: { name: string; imported: boolean }) => i.name === 'Big Session.als' && i.imported),
    ).toHaveLength(1);
  }, 300_000);
});
