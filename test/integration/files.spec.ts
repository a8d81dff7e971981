import { MikroORM } from '@mikro-orm/postgresql';
import type { Dropbox } from 'dropbox';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import sharp from 'sharp';
import { emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { dropboxContentHash } from '../../tools/dropbox-emulator';
import { makeWav } from '../../tools/fixtures/audio';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { eventually } from '../support/poll';
import { signedInUser, TestUser } from '../support/users';

describe('tracks, collaborators and libraries', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let producer: TestUser;
  let other: TestUser;
  let dbx: Dropbox;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    t = await startTestApp({
      env: {
        ...dropboxEnv(emulator),
        SPOOL_DIR: `/tmp/pd-spool-${process.pid}`,
        MAX_UPLOAD_MB: '5',
        DROPBOX_UPLOAD_CHUNK_MIB: '4',
      },
      workers: true,
    });
    producer = await signedInUser(t);
    other = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'files@dropbox.test' });
    await seedConnection(t, emulator, other, { email: 'other@dropbox.test' });
    dbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ email: 'files@dropbox.test' }).access_token,
    );
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  /** JSON API calls with the session cookie; the CSRF token is fetched first (superagent fixes cookies at request creation). */
  const api = (user: TestUser) => {
    const withCsrf = async (make: (csrf: string) => import('supertest').Test) =>
      make(await user.browser.csrfFrom('/settings'));
    return {
      get: (path: string) => user.browser.agent.get(path),
      post: (path: string, body?: object) =>
        withCsrf((csrf) =>
          user.browser.agent
            .post(path)
            .set('X-CSRF-Token', csrf)
            .send(body ?? {}),
        ),
      patch: (path: string, body: object) =>
        withCsrf((csrf) => user.browser.agent.patch(path).set('X-CSRF-Token', csrf).send(body)),
      del: (path: string) => withCsrf((csrf) => user.browser.agent.delete(path).set('X-CSRF-Token', csrf)),
    };
  };

  let trackId: string;

  describe('tracks', () => {
    it('creates a track with its Dropbox folders', async () => {
      const res = await api(producer).post('/api/v1/tracks', {
        title: 'Midnight Drive',
        artist: 'Ana',
        bpm: 124,
        key: 'f#m',
        sharingStatus: 'preview',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        title: 'Midnight Drive',
        bpm: 124,
        key: 'F# minor',
        sharingStatus: 'preview',
        dropboxFolderPath: '/Producer Dashboard/Midnight Drive',
      });
      trackId = res.body.id;
      const listing = await dbx.filesListFolder({ path: '/Producer Dashboard/Midnight Drive' });
      expect(listing.result.entries.map((e) => e.name).sort()).toEqual(['Bounces', 'Projects', 'Stems']);
    });

    it('gives a second track with the same title its own folder', async () => {
      const res = await api(producer).post('/api/v1/tracks', { title: 'Midnight Drive' });
      expect(res.body.dropboxFolderPath).toBe('/Producer Dashboard/Midnight Drive (2)');
      await api(producer).del(`/api/v1/tracks/${res.body.id}`);
    });

    it.each([
      [{ title: 'x'.repeat(500) }, 'title', /at most 200/],
      [{ title: '' }, 'title', /required/],
      [{ title: 'ok', bpm: 9000 }, 'bpm', /between 20 and 400/],
      [{ title: 'ok', sharingStatus: 'public' }, 'sharingStatus', /one of/],
      [{ title: 'ok', owner: 'someone' }, 'owner', /should not exist/],
    ])('refuses %j with 400 naming %s, creating nothing', async (body, field, message) => {
      const before = (await api(producer).get('/api/v1/tracks')).body.total;
      const res = await api(producer).post('/api/v1/tracks', body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]),
      );
      expect((await api(producer).get('/api/v1/tracks')).body.total).toBe(before);
    });

    it('refuses a musical key that is not one', async () => {
      const res = await api(producer).patch(`/api/v1/tracks/${trackId}`, { key: 'H minor' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ field: 'key' });
    });

    it('renames without losing the folder', async () => {
      const res = await api(producer).patch(`/api/v1/tracks/${trackId}`, { title: 'Midnight Drive (Final)' });
      expect(res.body.title).toBe('Midnight Drive (Final)');
      expect(res.body.dropboxFolderPath).toBe('/Producer Dashboard/Midnight Drive');
    });

    it('lists with search, sort and paging', async () => {
      await api(producer).post('/api/v1/tracks', { title: 'Aurora', artist: 'Ben' });
      await api(producer).post('/api/v1/tracks', { title: 'Zephyr', artist: 'Ana' });
      const byArtist = await api(producer).get('/api/v1/tracks?q=ana&sort=title');
      expect(byArtist.body.items.map((x: { title: string }) => x.title)).toEqual(['Midnight Drive (Final)', 'Zephyr']);
      const paged = await api(producer).get('/api/v1/tracks?sort=title&dir=asc&pageSize=2&page=2');
      expect(paged.body).toMatchObject({ total: 3, page: 2, pages: 2 });
      expect(paged.body.items.map((x: { title: string }) => x.title)).toEqual(['Zephyr']);
      expect((await api(producer).get('/api/v1/tracks?pageSize=1000')).status).toBe(400);
    });

    it('takes artwork that is an image and refuses what is not', async () => {
      const png = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#884422' } })
        .png()
        .toBuffer();
      const csrf = await producer.browser.csrfFrom('/settings');
      const res = await producer.browser.agent
        .put(`/api/v1/tracks/${trackId}/artwork`)
        .set('X-CSRF-Token', csrf)
        .set('Content-Type', 'image/png')
        .send(png);
      expect(res.status).toBe(200);
      expect(res.body.artworkUrl).toMatch(/^\/tracks\/.+\/artwork\/large\?v=1$/);
      const bad = await producer.browser.agent
        .put(`/api/v1/tracks/${trackId}/artwork`)
        .set('X-CSRF-Token', csrf)
        .set('Content-Type', 'image/png')
        .send(Buffer.from('not an image'));
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0]).toMatchObject({ field: 'artwork' });
    });
  });

  describe('owner isolation', () => {
    it('answers 404 for another producer’s track on every route', async () => {
      const them = api(other);
      expect((await them.get(`/api/v1/tracks/${trackId}`)).status).toBe(404);
      expect((await them.get(`/api/v1/tracks/${trackId}/library`)).status).toBe(404);
      expect((await them.get(`/api/v1/tracks/${trackId}/uploads`)).status).toBe(404);
      expect((await them.get(`/api/v1/tracks/${trackId}/collaborators`)).status).toBe(404);
      expect((await them.patch(`/api/v1/tracks/${trackId}`, { title: 'Mine now' })).status).toBe(404);
      expect((await them.del(`/api/v1/tracks/${trackId}`)).status).toBe(404);
      expect((await them.post(`/api/v1/tracks/${trackId}/library/import`, { dropboxIds: ['id:abc'] })).status).toBe(
        404,
      );
      expect((await api(producer).get(`/api/v1/tracks/${trackId}`)).body.title).toBe('Midnight Drive (Final)');
      expect((await them.get('/api/v1/tracks')).body.total).toBe(0);
    });
  });

  describe('collaborators', () => {
    it('keeps collaborators, assigns them, and refuses duplicates and bad emails', async () => {
      const sam = await api(producer).post('/api/v1/collaborators', {
        name: 'Sam',
        email: 'SAM@example.com',
        role: 'mix engineer',
      });
      expect(sam.status).toBe(201);
      expect(sam.body.email).toBe('sam@example.com');
      const noEmail = await api(producer).post('/api/v1/collaborators', { name: 'Kai', role: 'vocalist' });
      expect(noEmail.body.email).toBeNull();
      const bad = await api(producer).post('/api/v1/collaborators', {
        name: 'X',
        email: 'not-an-email',
        role: 'vocalist',
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0]).toMatchObject({ field: 'email' });
      const dupe = await api(producer).post('/api/v1/collaborators', {
        name: 'Sam 2',
        email: 'sam@example.com',
        role: 'x',
      });
      expect(dupe.status).toBe(409);

      expect(
        (await api(producer).post(`/api/v1/tracks/${trackId}/collaborators`, { collaboratorId: sam.body.id })).status,
      ).toBe(201);
      const again = await api(producer).post(`/api/v1/tracks/${trackId}/collaborators`, {
        collaboratorId: sam.body.id,
      });
      expect(again.status).toBe(409);
      expect(again.body.message).toMatch(/already on this track/);
      await api(producer).post(`/api/v1/tracks/${trackId}/collaborators`, { collaboratorId: noEmail.body.id });
      const track = await api(producer).get(`/api/v1/tracks/${trackId}`);
      expect(track.body.collaborators.map((c: { name: string }) => c.name)).toEqual(['Sam', 'Kai']);
      // Another producer can't use Sam.
      expect((await api(other).post(`/api/v1/collaborators/${sam.body.id}`, {})).status).toBe(404);
    });
  });

  describe('library', () => {
    it('lists files added directly in Dropbox as not imported, in the right category, with Logic packages as one item', async () => {
      const base = '/Producer Dashboard/Midnight Drive';
      await dbx.filesUpload({ path: `${base}/Stems/Kick.wav`, contents: makeWav({ seconds: 1, frequencies: [60] }) });
      await dbx.filesUpload({ path: `${base}/Rough mix.mp3`, contents: Buffer.from('ID3 fake') });
      await dbx.filesUpload({ path: `${base}/Session.als`, contents: Buffer.from('ableton') });
      await dbx.filesUpload({
        path: `${base}/Projects/Song.logicx/Alternatives/000/ProjectData`,
        contents: Buffer.alloc(1000),
      });
      await dbx.filesUpload({ path: `${base}/Projects/Song.logicx/Resources/Info.plist`, contents: Buffer.alloc(500) });
      const lib = await api(producer).get(`/api/v1/tracks/${trackId}/library`);
      expect(lib.status).toBe(200);
      const byName = Object.fromEntries(lib.body.items.map((i: { name: string }) => [i.name, i]));
      expect(byName['Kick.wav']).toMatchObject({ imported: false, category: 'stem', relativePath: 'Stems/Kick.wav' });
      expect(byName['Rough mix.mp3']).toMatchObject({ imported: false, category: 'bounce' });
      expect(byName['Session.als']).toMatchObject({ category: 'project' });
      expect(byName['Song.logicx']).toMatchObject({
        category: 'project',
        isPackage: true,
        size: 1500,
        format: 'Logic Pro project',
      });
      expect(lib.body.items).toHaveLength(4);
    });

    it('imports with one call, reads audio facts, and keeps importing idempotent', async () => {
      const lib = await api(producer).get(`/api/v1/tracks/${trackId}/library`);
      const ids = lib.body.items.map((i: { dropboxId: string }) => i.dropboxId);
      const res = await api(producer).post(`/api/v1/tracks/${trackId}/library/import`, { dropboxIds: ids });
      expect(res.status).toBe(201);
      expect(res.body).toHaveLength(4);
      expect(
        (await api(producer).post(`/api/v1/tracks/${trackId}/library/import`, { dropboxIds: ids })).body,
      ).toHaveLength(0);
      const kick = await eventually(
        async () =>
          (await api(producer).get(`/api/v1/tracks/${trackId}/library`)).body.items.find(
            (i: { name: string }) => i.name === 'Kick.wav',
          ),
        (item) => item?.audio?.durationSeconds != null,
      );
      expect(kick.audio).toMatchObject({ sampleRate: 44100, channels: 2, bitsPerSample: 16 });
      expect(kick.audio.durationSeconds).toBeCloseTo(1, 1);
    });

    it('refuses ids that are not in the folder, importing nothing', async () => {
      const res = await api(producer).post(`/api/v1/tracks/${trackId}/library/import`, {
        dropboxIds: ['id:notinthefolder'],
      });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('dropboxIds');
    });

    it('shows files deleted or moved in Dropbox as missing or moved, never as an error', async () => {
      const base = '/Producer Dashboard/Midnight Drive';
      await dbx.filesDeleteV2({ path: `${base}/Session.als` });
      await dbx.filesMoveV2({ from_path: `${base}/Rough mix.mp3`, to_path: `${base}/Bounces/Rough mix.mp3` });
      const lib = await api(producer).get(`/api/v1/tracks/${trackId}/library`);
      expect(lib.status).toBe(200);
      const byName = Object.fromEntries(lib.body.items.map((i: { name: string }) => [i.name, i]));
      expect(byName['Session.als'].status).toBe('missing');
      expect(byName['Rough mix.mp3']).toMatchObject({
        status: 'ready',
        relativePath: 'Bounces/Rough mix.mp3',
        imported: true,
      });
    });

    it('marks one master bounce', async () => {
      const lib = (await api(producer).get(`/api/v1/tracks/${trackId}/library`)).body.items;
      const mp3 = lib.find((i: { name: string }) => i.name === 'Rough mix.mp3');
      const kick = lib.find((i: { name: string }) => i.name === 'Kick.wav');
      expect((await api(producer).post(`/api/v1/tracks/${trackId}/files/${mp3.id}/master`)).status).toBe(200);
      expect((await api(producer).post(`/api/v1/tracks/${trackId}/files/${kick.id}/master`)).status).toBe(400);
    });
  });

  describe('uploads', () => {
    it('streams files in, then a job puts them in Dropbox with the same content hash and audio facts', async () => {
      const wav = makeWav({ seconds: 2, frequencies: [440, 660], sampleRate: 48_000, bitsPerSample: 24 });
      const csrf = await producer.browser.csrfFrom('/settings');
      const res = await producer.browser.agent
        .post(`/api/v1/tracks/${trackId}/uploads`)
        .set('X-CSRF-Token', csrf)
        .field('category', 'bounce')
        .attach('files', wav, 'Master v2.wav')
        .attach('files', Buffer.from('project bytes'), 'Song.flp');
      expect(res.status).toBe(201);
      expect(res.body).toHaveLength(2);
      const done = await eventually(
        async () =>
          (await api(producer).get(`/api/v1/tracks/${trackId}/uploads`)).body as Array<{
            status: string;
            fileName: string;
            percent: number;
          }>,
        (list) => list.every((u) => u.status === 'done'),
      );
      expect(done.every((u) => u.percent === 100)).toBe(true);
      const meta = await dbx.filesGetMetadata({ path: '/Producer Dashboard/Midnight Drive/Bounces/Master v2.wav' });
      expect((meta.result as { content_hash?: string }).content_hash).toBe(dropboxContentHash(wav));
      const lib = (await api(producer).get(`/api/v1/tracks/${trackId}/library`)).body.items;
      const master = lib.find((i: { name: string }) => i.name === 'Master v2.wav');
      expect(master).toMatchObject({ imported: true, category: 'bounce' });
      expect(master.audio).toMatchObject({ sampleRate: 48000, bitsPerSample: 24, channels: 2 });
      expect(master.audio.durationSeconds).toBeCloseTo(2, 1);
      // The category field applied to every file after it.
      expect(lib.find((i: { name: string }) => i.name === 'Song.flp')).toMatchObject({ category: 'bounce' });
      expect(await readdir(t.config.files.spoolDir)).toEqual([]);
    });

    it.each([
      ['an empty file', Buffer.alloc(0), 'empty.wav', 400, /is empty/],
      ['a name with a path separator', Buffer.from('x'), '../../etc/passwd', 400, /path separators|\.\./],
      ['a name with control characters', Buffer.from('x'), 'bad\u0007name.wav', 400, /control characters|malformed/],
      ['a file over the limit', Buffer.alloc(6 * 1024 * 1024, 1), 'huge.wav', 413, /larger than the limit/],
    ])('refuses %s, keeping nothing', async (_label, bytes, name, status, message) => {
      const uploadsBefore = await t.app.get(MikroORM).em.fork().count(Upload, {});
      const csrf = await producer.browser.csrfFrom('/settings');
      // Built by hand: form libraries would quietly cut "../../etc/passwd" down to "passwd".
      const boundary = 'pd-test-boundary';
      const part = (filename: string, content: Buffer) =>
        Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
          ),
          content,
          Buffer.from('\r\n'),
        ]);
      const body = Buffer.concat([
        part('fine.wav', Buffer.from('fine')),
        part(name, bytes),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
      const res = await producer.browser.agent
        .post(`/api/v1/tracks/${trackId}/uploads`)
        .set('X-CSRF-Token', csrf)
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(body);
      expect(res.status).toBe(status);
      expect(res.body.message).toMatch(message);
      expect(await t.app.get(MikroORM).em.fork().count(Upload, {})).toBe(uploadsBefore);
      expect(await readdir(t.config.files.spoolDir)).toEqual([]);
    });

    it('cuts an oversized upload off early instead of reading it all', async () => {
      const csrf = await producer.browser.csrfFrom('/settings');
      const cookie = `pd.sid=${producer.browser.sessionId()}; pd.csrf=${csrf}`;
      const boundary = 'pd-big';
      const total = 200 * 1024 * 1024; // 200 MB offered, 5 MB allowed
      const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
        const req = request(`${t.url}/api/v1/tracks/${trackId}/uploads`, {
          method: 'POST',
          headers: {
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'X-CSRF-Token': csrf,
            Cookie: cookie,
          },
        });
        let sent = 0;
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          res.resume();
          resolve({ status: res.statusCode ?? 0, sent });
        });
        req.on('error', (err) => (answered ? undefined : reject(err)));
        req.write(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="huge.wav"\r\n\r\n`);
        const chunk = Buffer.alloc(256 * 1024, 1);
        const pump = () => {
          while (!answered && sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!answered) req.end(`\r\n--${boundary}--\r\n`);
        };
        pump();
      });
      expect(status).toBe(413);
      expect(sent).toBeLessThan(total / 2);
      expect(await readdir(t.config.files.spoolDir)).toEqual([]);
    });

    it('refuses uploads to another producer’s track', async () => {
      const csrf = await other.browser.csrfFrom('/settings');
      const res = await other.browser.agent
        .post(`/api/v1/tracks/${trackId}/uploads`)
        .set('X-CSRF-Token', csrf)
        .attach('files', Buffer.from('x'), 'x.wav');
      expect(res.status).toBe(404);
    });
  });
});
