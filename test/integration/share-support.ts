import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Dropbox } from 'dropbox';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'supertest';
import { emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { makeWav } from '../../tools/fixtures/audio';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { signedInUser, TestUser } from '../support/users';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../src/modules/media/entities/media-preview.entity';
import { eventually } from '../support/poll';
import { watchSqlStatements } from '../../tools/services';

/** Shared set-up of the share specs: an emulator, the app, two producers with Dropbox connected. */
export interface ShareWorld {
  emulator: RunningDropboxEmulator;
  t: TestApp;
  producer: TestUser;
  other: TestUser;
  dbx: Dropbox;
  otherDbx: Dropbox;
  close(): Promise<void>;
}

export async function startShareWorld(
  options: { workers?: boolean; env?: Record<string, string> } = {},
): Promise<ShareWorld> {
  const emulator = await startTestEmulator();
  const t = await startTestApp({ env: { ...dropboxEnv(emulator), ...options.env }, workers: options.workers ?? false });
  const producer = await signedInUser(t);
  const other = await signedInUser(t);
  const mine = `share-${producer.id.slice(0, 8)}@dropbox.test`;
  const theirs = `share-${other.id.slice(0, 8)}@dropbox.test`;
  await seedConnection(t, emulator, producer, { email: mine });
  await seedConnection(t, emulator, other, { email: theirs });
  const dbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: mine }).access_token);
  const otherDbx = emulatorDropboxClient(emulator.url, emulator.control.issueToken({ email: theirs }).access_token);
  return {
    emulator,
    t,
    producer,
    other,
    dbx,
    otherDbx,
    close: async () => {
      await t.close();
      await emulator.close();
    },
  };
}

/** JSON API calls with the session cookie; the CSRF token is fetched first. */
export function api(user: TestUser) {
  const withCsrf = async (make: (csrf: string) => Test) => make(await user.browser.csrfFrom('/settings'));
  return {
    get: (path: string) => user.browser.agent.get(path).redirects(0),
    post: (path: string, body?: object) =>
      withCsrf((csrf) =>
        user.browser.agent
          .post(path)
          .set('X-CSRF-Token', csrf)
          .send(body ?? {}),
      ),
    patch: (path: string, body: object) =>
      withCsrf((csrf) => user.browser.agent.patch(path).set('X-CSRF-Token', csrf).send(body)),
  };
}

export interface MadeTrack {
  id: string;
  title: string;
  folder: string;
  /** Source bytes by path relative to the track folder ("Bounces/Master.wav"). */
  bytes: Record<string, Buffer>;
}

/** The usual files of a track: two bounces, a project, a Logic package (a folder), two stems. */
export function standardFiles(seed = 0): Record<string, Buffer> {
  return {
    'Bounces/Master.wav': makeWav({ seconds: 2, frequencies: [220 + seed], channels: 1, sampleRate: 22_050 }),
    'Bounces/Alt mix.wav': makeWav({ seconds: 1, frequencies: [330 + seed], channels: 1, sampleRate: 22_050 }),
    'Projects/Session.als': Buffer.from(`ableton session ${seed} `.repeat(200)),
    'Projects/Song.logicx/Alternatives/000/ProjectData': Buffer.from(`logic data ${seed} `.repeat(300)),
    'Projects/Song.logicx/Resources/Info.plist': Buffer.from(`<plist>${seed}</plist>`),
    'Stems/Drums.wav': makeWav({ seconds: 1, frequencies: [110 + seed], channels: 1, sampleRate: 22_050 }),
    'Stems/Bass.wav': makeWav({ seconds: 1, frequencies: [55 + seed], channels: 1, sampleRate: 22_050 }),
  };
}

/** Creates a track through the API and puts files into its Dropbox folder directly (as a producer would). */
export async function makeTrack(
  user: TestUser,
  dbx: Dropbox,
  fields: { title: string; sharingStatus?: string; bpm?: number; key?: string; artist?: string },
  bytes: Record<string, Buffer> = standardFiles(),
): Promise<MadeTrack> {
  const res = await api(user).post('/api/v1/tracks', fields);
  if (res.status !== 201) throw new Error(`track: ${res.status} ${res.text}`);
  const folder = res.body.dropboxFolderPath as string;
  for (const [path, contents] of Object.entries(bytes))
    await dbx.filesUpload({ path: `${folder}/${path}`, contents, mode: { '.tag': 'overwrite' } });
  return { id: res.body.id, title: fields.title, folder, bytes };
}

/** Selection values (`d:…`/`f:…`) of a track's library items, by name. */
export async function selectionOf(user: TestUser, trackId: string): Promise<Record<string, string>> {
  const lib = await api(user).get(`/api/v1/tracks/${trackId}/library`);
  if (lib.status !== 200) throw new Error(`library: ${lib.status} ${lib.text}`);
  return Object.fromEntries(
    (lib.body.items as Array<{ name: string; imported: boolean; id: string; dropboxId: string }>).map((i) => [
      i.name,
      i.imported ? `f:${i.id}` : `d:${i.dropboxId}`,
    ]),
  );
}

/** SQL statements the app runs while `work` runs. */
export async function countQueries<T>(t: TestApp, work: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const queries: string[] = [];
  const stop = watchSqlStatements(t.app.get(MikroORM), (sql) => queries.push(sql));
  try {
    const result = await work();
    return { result, queries };
  } finally {
    stop();
  }
}

/** Entry names and contents of a ZIP (read with Python's zipfile: an independent reader). */
export function readZip(buffer: Buffer): Record<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-zip-'));
  try {
    const file = join(dir, 'a.zip');
    writeFileSync(file, buffer);
    const script =
      'import sys,zipfile,json,base64\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))';
    const out = execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return Object.fromEntries(
      Object.entries(JSON.parse(out) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A binary body with supertest. */
export function binary(test: Test): Test {
  return test.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
}

export async function fetchBytes(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

export function tokenOf(url: string): string {
  return new URL(url).pathname.split('/')[2];
}

/** Polls `read` until `ok` holds: waits for an outcome (a job finishing), never for a moment. */
export { eventually };

/** Uploads files through the uploads API (multipart), with form fields before them (`category`, `conflict`). */
export async function uploadFiles(
  user: TestUser,
  trackId: string,
  fields: Record<string, string>,
  files: Record<string, Buffer>,
) {
  const csrf = await user.browser.csrfFrom('/settings');
  let req = user.browser.agent.post(`/api/v1/tracks/${trackId}/uploads`).set('X-CSRF-Token', csrf);
  for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
  for (const [name, bytes] of Object.entries(files)) req = req.attach('files', bytes, name);
  return req;
}

/** A file's preview of its current revision (or of `revision`), once a media worker has built it. */
export async function readyPreview(t: TestApp, fileId: string, revision?: string): Promise<MediaPreview> {
  const em = () => (t.app.get(MikroORM).em as EntityManager).fork();
  const wanted = revision ?? (await em().findOneOrFail(TrackFile, { id: fileId })).contentHash!;
  return (await eventually(
    () => em().findOne(MediaPreview, { file: fileId, revision: wanted, status: 'ready' }),
    (found) => found !== null,
    60_000,
  ))!;
}
