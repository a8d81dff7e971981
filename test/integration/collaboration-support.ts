import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Dropbox } from 'dropbox';
import { randomBytes } from 'node:crypto';
import type { Test } from 'supertest';
import {
  emulatorDropboxClient,
  type DropboxEmulatorOptions,
  type RunningDropboxEmulator,
} from '../../tools/dropbox-emulator';
import type { TuningOverrides } from '../../src/config/tuning';
import type { CollaborationView } from '../../src/modules/collaboration/collaboration.views';
import { startTestApp, TestApp } from '../support/app';
import { eventually } from '../support/poll';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';

/** What the collaboration specs share: an emulator, the app (workers on), a producer connected to Dropbox. */
export interface CollabEnv {
  emulator: RunningDropboxEmulator;
  t: TestApp;
  producer: Producer;
  close(): Promise<void>;
}

export interface Producer extends TestUser {
  dropboxEmail: string;
  accountId: string;
  dbx: Dropbox;
  api: ReturnType<typeof apiOf>;
}

export async function startCollabEnv(
  options: {
    emulator?: DropboxEmulatorOptions;
    env?: Record<string, string>;
    tuning?: TuningOverrides;
    workers?: boolean;
  } = {},
): Promise<CollabEnv> {
  const emulator = await startTestEmulator({ strict: true, ...options.emulator });
  const t = await startTestApp({
    env: { ...dropboxEnv(emulator), JOB_LOCK_SECONDS: '5', ...options.env },
    workers: options.workers ?? true,
    // Copy jobs are polled every few ms, not from 100 ms up to 2 s as in production.
    tuning: {
      ...options.tuning,
      dropbox: {
        baseBackoffMs: 20,
        maxBackoffMs: 200,
        asyncPollFirstMs: 10,
        asyncPollMaxMs: 50,
        ...options.tuning?.dropbox,
      },
    },
  });
  const producer = await connectedProducer(t, emulator);
  return {
    emulator,
    t,
    producer,
    close: async () => {
      await t.close();
      await emulator.close();
    },
  };
}

export async function connectedProducer(t: TestApp, emulator: RunningDropboxEmulator): Promise<Producer> {
  const user = await signedInUser(t);
  const dropboxEmail = `owner-${randomBytes(4).toString('hex')}@dropbox.test`;
  await seedConnection(t, emulator, user, { email: dropboxEmail });
  const account = emulator.control.accounts().find((a) => a.email === dropboxEmail)!;
  const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: dropboxEmail }).access_token);
  return { ...user, dropboxEmail, accountId: account.account_id, dbx, api: apiOf(user) };
}

/** JSON API calls with the session cookie and its CSRF token. */
export function apiOf(user: TestUser) {
  let csrf: string | undefined;
  const withCsrf = async (make: (token: string) => Test) => make((csrf ??= await user.browser.csrfFrom('/settings')));
  return {
    get: (path: string) => user.browser.agent.get(path).set('Accept', 'application/json'),
    post: (path: string, body?: object) =>
      withCsrf((token) =>
        user.browser.agent
          .post(path)
          .set('X-CSRF-Token', token)
          .send(body ?? {}),
      ),
    put: (path: string, body: object) =>
      withCsrf((token) => user.browser.agent.put(path).set('X-CSRF-Token', token).send(body)),
    patch: (path: string, body: object) =>
      withCsrf((token) => user.browser.agent.patch(path).set('X-CSRF-Token', token).send(body)),
    del: (path: string) => withCsrf((token) => user.browser.agent.delete(path).set('X-CSRF-Token', token)),
  };
}

export interface TestTrack {
  id: string;
  folderPath: string;
  /** Share-tab selection items (`d:<Dropbox id>`) of the files put in the track's folder. */
  selection: string[];
  files: Array<{ name: string; id: string; contentHash: string }>;
  collaborators: Array<{ id: string; name: string; email: string | null }>;
}

/**
 * A track with `files` small stems in its Dropbox folder (not imported: the selection imports them) and
 * collaborators (`email: null` for someone without an email).
 */
export async function makeTrack(
  producer: Producer,
  spec: {
    title?: string;
    files?: number;
    collaborators?: Array<{ name?: string; email?: string | null }>;
    fileBytes?: number;
  } = {},
): Promise<TestTrack> {
  const title = spec.title ?? `Track ${randomBytes(3).toString('hex')}`;
  const created = await producer.api.post('/api/v1/tracks', { title });
  if (created.status !== 201) throw new Error(`track: ${created.status} ${created.text}`);
  const folderPath: string = created.body.dropboxFolderPath;
  const files: TestTrack['files'] = [];
  for (let i = 0; i < (spec.files ?? 3); i += 1) {
    const name = `stem-${String(i + 1).padStart(2, '0')}.wav`;
    const { result } = await producer.dbx.filesUpload({
      path: `${folderPath}/Stems/${name}`,
      contents: randomBytes(spec.fileBytes ?? 2048),
      mode: { '.tag': 'add' },
    });
    files.push({ name, id: result.id, contentHash: result.content_hash! });
  }
  const collaborators: TestTrack['collaborators'] = [];
  for (const [i, c] of (spec.collaborators ?? [{}, {}]).entries()) {
    const email = c.email === undefined ? `collab-${randomBytes(4).toString('hex')}@example.com` : c.email;
    const made = await producer.api.post('/api/v1/collaborators', {
      name: c.name ?? `Collaborator ${i + 1} ${randomBytes(2).toString('hex')}`,
      email,
      role: 'co-producer',
    });
    if (made.status !== 201) throw new Error(`collaborator: ${made.status} ${made.text}`);
    const assigned = await producer.api.post(`/api/v1/tracks/${created.body.id}/collaborators`, {
      collaboratorId: made.body.id,
    });
    if (assigned.status >= 300) throw new Error(`assign: ${assigned.status} ${assigned.text}`);
    collaborators.push({ id: made.body.id, name: made.body.name, email });
  }
  return { id: created.body.id, folderPath, selection: files.map((f) => `d:${f.id}`), files, collaborators };
}

export async function collabStatus(producer: Producer, trackId: string): Promise<CollaborationView> {
  const res = await producer.api.get(`/api/v1/tracks/${trackId}/collaboration`);
  if (res.status !== 200) throw new Error(`status: ${res.status} ${res.text}`);
  return res.body as CollaborationView;
}

export async function waitForCollab(
  producer: Producer,
  trackId: string,
  ok: (view: CollaborationView) => boolean,
  timeoutMs = 30_000,
): Promise<CollaborationView> {
  return eventually(() => collabStatus(producer, trackId), ok, { what: `collaboration of ${trackId}`, timeoutMs });
}

export const isFinal = (v: CollaborationView) => v.status === 'done' || v.status === 'failed';

/** Names of the files in a folder of the owner's Dropbox (recursive, files only), sorted. */
export async function filesIn(dbx: Dropbox, path: string): Promise<string[]> {
  const names: string[] = [];
  let page = (await dbx.filesListFolder({ path, recursive: true })).result;
  for (;;) {
    for (const e of page.entries) if (e['.tag'] === 'file') names.push(e.path_display!.slice(path.length + 1));
    if (!page.has_more) break;
    page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result;
  }
  return names.sort();
}

/**
 * Waits for many pipelines at once without tripping the app's per-user rate limit (600 requests a minute): one
 * status request per unfinished pipeline every two seconds.
 */
export async function waitForAll(
  items: Array<{ producer: Producer; track: { id: string } }>,
  timeoutMs: number,
): Promise<CollaborationView[]> {
  const deadline = Date.now() + timeoutMs;
  const views: Array<CollaborationView | undefined> = items.map(() => undefined);
  for (;;) {
    for (const [i, { producer, track }] of items.entries()) {
      if (views[i] && isFinal(views[i]!)) continue;
      views[i] = await collabStatus(producer, track.id);
    }
    if (views.every((v) => v && isFinal(v))) return views as CollaborationView[];
    if (Date.now() > deadline) {
      const open = views
        .filter((v) => !v || !isFinal(v))
        .map((v) => `${v?.trackId}: ${v?.status} ${v?.step} ${v?.notice ?? ''}`);
      throw new Error(`${open.length} pipelines did not finish:\n${open.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

const ROOT = join(__dirname, '..', '..');

/** `src/worker.ts` as its own process (TypeScript run directly), resolved once it says it started. */
export function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', './test/support/register-ts.js', 'src/worker.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, WORKERS: 'on', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker started')) resolve(child);
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before starting:\n${out.slice(-2000)}`)));
  });
}

export function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
