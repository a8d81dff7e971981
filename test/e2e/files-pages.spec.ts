import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Dropbox } from 'dropbox';
import { readdir, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { emulatorDropboxClient, type RunningDropboxEmulator } from '../../tools/dropbox-emulator';
import { makeWav } from '../../tools/fixtures/audio';
import { CollaboratorsService } from '../../src/modules/files/collaborators.service';
import { Collaborator } from '../../src/modules/files/entities/collaborator.entity';
import { Track } from '../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { Upload } from '../../src/modules/files/entities/upload.entity';
import { startTestApp, TestApp } from '../support/app';
import { dropboxEnv, seedConnection, startTestEmulator } from '../support/dropbox';
import { makeTempDir } from '../support/leftovers';
import { signedInUser, TestUser } from '../support/users';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** Text as the browser shows it. */
function decode(html: string): string {
  return html.replace(
    /&(quot|#x27|#x3D|#x60|lt|gt|amp);/g,
    (_m, e: string) => ({ quot: '"', '#x27': "'", '#x3D': '=', '#x60': '`', lt: '<', gt: '>', amp: '&' })[e]!,
  );
}

/** The message shown for a field (`<p class="field-error" id="<id>-error">`): it sits beside that field. */
function fieldError(html: string, id: string): string | undefined {
  const match = new RegExp(`<p class="field-error" id="${id}-error">([^<]*)</p>`).exec(html);
  return match ? decode(match[1]) : undefined;
}

/** The flash shown by the page a redirect leads to. */
async function flashAfter(user: TestUser, res: { status: number; headers: Record<string, string> }): Promise<string> {
  expect(res.status).toBe(303);
  const page = await user.browser.get(res.headers.location.replace(/#.*$/, ''));
  return decode(/<div class="flash flash-(?:success|error)" role="status">([^<]*)<\/div>/.exec(page.text)?.[1] ?? '');
}

describe('the producer’s track, library and collaborator pages', () => {
  let emulator: RunningDropboxEmulator;
  let t: TestApp;
  let orm: MikroORM;
  let producer: TestUser;
  let other: TestUser;
  let dbx: Dropbox;
  let spoolDir: string;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    spoolDir = makeTempDir('test');
    // No workers: uploads stay spooled and queued, so what a request spooled (or didn't) can be counted.
    t = await startTestApp({ env: { ...dropboxEnv(emulator), SPOOL_DIR: spoolDir } });
    orm = t.app.get(MikroORM);
    producer = await signedInUser(t);
    other = await signedInUser(t);
    await seedConnection(t, emulator, producer, { email: 'pages@dropbox.test' });
    await seedConnection(t, emulator, other, { email: 'pages-other@dropbox.test' });
    dbx = emulatorDropboxClient(
      emulator.url,
      emulator.control.issueToken({ email: 'pages@dropbox.test' }).access_token,
    );
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  const em = () => orm.em.fork();
  const page = (user: TestUser, path: string) => user.browser.get(path);
  /** Posts a page form with the CSRF token of `from`. */
  const post = (user: TestUser, from: string, action: string, fields: Record<string, string> = {}) =>
    user.browser.submit(from, action, fields);

  let trackId: string;
  let trackPath: string;

  describe('tracks', () => {
    it('shows the connect prompt instead of the new-track form until Dropbox is connected', async () => {
      const newcomer = await signedInUser(t);
      const res = await page(newcomer, '/tracks');
      expect(res.status).toBe(200);
      expect(res.text).toContain('Connect your Dropbox first');
      expect(res.text).not.toContain('action="/tracks" novalidate');
      expect(res.text).toContain('href="/collaborators"');
    });

    it('creates a track through the form and opens its page', async () => {
      const res = await post(producer, '/tracks', '/tracks', {
        title: 'Night Bus',
        artist: 'Ana',
        bpm: '124',
        key: 'f#m',
        sharingStatus: 'preview',
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(new RegExp(`^/tracks/${UUID.source}$`));
      trackId = res.headers.location.split('/')[2];
      trackPath = `/tracks/${trackId}`;
      const view = await page(producer, trackPath);
      expect(view.status).toBe(200);
      expect(view.text).toContain('Track “Night Bus” created');
      expect(view.text).toContain('<h1 id="track-title">Night Bus</h1>');
      expect(view.text).toContain('F# minor');
      expect(view.text).toMatch(/class="badge status-preview">Preview</);
      expect(view.text).toContain(`href="/tracks/${trackId}/share"`);
      expect(view.text).toContain(`href="/tracks/${trackId}/collaboration"`);
      for (const group of ['Bounces', 'Projects', 'Stems'])
        expect(view.text).toContain(`>${group} <span class="muted">(0)</span>`);
      expect((await dbx.filesListFolder({ path: '/Producer Dashboard/Night Bus' })).result.entries).toHaveLength(3);
    });

    it.each([
      [{ title: 'x'.repeat(500) }, 'new-title', 'title must be at most 200 characters'],
      [{ title: '' }, 'new-title', 'title is required'],
      [{ title: 'Fine', bpm: '9000' }, 'new-bpm', 'bpm must be a whole number between 20 and 400'],
      [{ title: 'Fine', key: 'H minor' }, 'new-key', 'key must be a musical key such as "F# minor" or "Db major"'],
      [
        { title: 'Fine', sharingStatus: 'public' },
        'new-status',
        'sharingStatus must be one of private, preview, collaborative, released',
      ],
    ])('refuses %j with the message beside %s and creates nothing', async (fields, id, message) => {
      const before = await em().count(Track, {});
      const res = await post(producer, '/tracks', '/tracks', fields);
      expect(res.status).toBe(400);
      expect(fieldError(res.text, id)).toBe(message);
      expect(res.text).toContain(`aria-describedby="${id}-error"`);
      // What was typed is still there.
      if (fields.title === 'Fine') expect(res.text).toContain('value="Fine"');
      expect(await em().count(Track, {})).toBe(before);
    });

    it('lists with search, sort and paging, with status, file counts and collaborators', async () => {
      const titles = Array.from({ length: 21 }, (_, i) => `Sketch ${String(i + 1).padStart(2, '0')}`);
      for (const title of titles)
        expect((await post(producer, '/tracks', '/tracks', { title, artist: 'Ben' })).status).toBe(303);
      const first = await page(producer, '/tracks?q=sketch&sort=title&dir=asc');
      expect(first.status).toBe(200);
      expect(first.text).toContain('21 tracks matching “sketch”');
      expect(first.text).toContain('Page 1 of 2');
      expect(first.text.indexOf('>Sketch 01<')).toBeLessThan(first.text.indexOf('>Sketch 20<'));
      expect(first.text).not.toContain('>Sketch 21<');
      expect(decode(first.text)).toContain('href="/tracks?q=sketch&sort=title&dir=asc&page=2"');
      const second = await page(producer, '/tracks?q=sketch&sort=title&dir=asc&page=2');
      expect(second.text).toContain('>Sketch 21<');
      expect(second.text).not.toContain('>Sketch 01<');
      const byArtist = await page(producer, '/tracks?q=ana');
      expect(byArtist.text).toContain('>Night Bus<');
      expect(byArtist.text).not.toContain('>Sketch');
      expect(byArtist.text).toContain('0 bounces · 0 projects · 0 stems');
      // A hand-edited query falls back to the defaults instead of failing.
      expect((await page(producer, '/tracks?page=-4&sort=nonsense&pageSize=9999')).status).toBe(200);
      expect((await page(producer, '/tracks?q=nothing-like-this')).text).toContain(
        'No track matches “nothing-like-this”',
      );
    });

    it('edits a track; refused edits change nothing', async () => {
      const bad = await post(producer, trackPath, trackPath, {
        title: '',
        artist: 'Ana',
        bpm: '124',
        key: 'F# minor',
        sharingStatus: 'preview',
      });
      expect(bad.status).toBe(400);
      expect(fieldError(bad.text, 'edit-title')).toBe('title must not be empty');
      expect((await em().findOneOrFail(Track, { id: trackId })).title).toBe('Night Bus');

      const ok = await post(producer, trackPath, trackPath, {
        title: 'Night Bus (Final)',
        artist: '',
        bpm: '',
        key: 'Db major',
        sharingStatus: 'released',
      });
      expect(await flashAfter(producer, ok)).toContain('Track “Night Bus (Final)” saved.');
      const track = await em().findOneOrFail(Track, { id: trackId });
      expect(track).toMatchObject({
        title: 'Night Bus (Final)',
        artist: null,
        bpm: null,
        musicalKey: 'Db major',
        sharingStatus: 'released',
      });
      // Renamed, its folder stays where it was.
      expect(track.dropboxFolderPath).toBe('/Producer Dashboard/Night Bus');
    });

    it('takes artwork from a plain multipart form (CSRF token in the URL), refuses what is not an image', async () => {
      const png = await sharp({ create: { width: 600, height: 600, channels: 3, background: '#aa3366' } })
        .png()
        .toBuffer();
      const csrf = await producer.browser.csrfFrom(trackPath);
      const send = (query: string, bytes: Buffer, name: string) =>
        producer.browser.agent.post(`${trackPath}/artwork${query}`).redirects(0).attach('artwork', bytes, name);

      expect((await send('', png, 'cover.png')).status).toBe(403);
      expect((await send('?_csrf=wrong', png, 'cover.png')).status).toBe(403);
      expect((await em().findOneOrFail(Track, { id: trackId })).artworkVersion).toBe(0);

      const res = await send(`?_csrf=${csrf}`, png, 'cover.png');
      expect(await flashAfter(producer, res)).toBe('Artwork saved.');
      expect((await em().findOneOrFail(Track, { id: trackId })).artworkVersion).toBe(1);
      const image = await producer.browser.get(`${trackPath}/artwork/small?v=1`);
      expect(image.status).toBe(200);
      expect(image.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(image.body as Buffer).metadata()).width).toBe(300);
      expect(decode((await page(producer, trackPath)).text)).toContain(`src="${trackPath}/artwork/small?v=1"`);

      const bad = await send(`?_csrf=${csrf}`, Buffer.from('GIF89a but really text'), 'cover.gif');
      expect(await flashAfter(producer, bad)).toMatch(/Artwork not changed: artwork must be a JPEG, PNG or WebP image/);
      expect((await em().findOneOrFail(Track, { id: trackId })).artworkVersion).toBe(1);
      // The other producer can't see it.
      expect((await other.browser.get(`${trackPath}/artwork/small?v=1`)).status).toBe(404);
    });
  });

  describe('library', () => {
    const base = '/Producer Dashboard/Night Bus';
    const byName = async (name: string) => em().findOne(TrackFile, { track: trackId, name });

    it('lists files found in Dropbox as not imported, in their category, with import boxes', async () => {
      await dbx.filesUpload({
        path: `${base}/Bounces/Mix v1.wav`,
        contents: makeWav({ seconds: 1, frequencies: [220] }),
      });
      await dbx.filesUpload({
        path: `${base}/Bounces/Mix v2.wav`,
        contents: makeWav({ seconds: 1, frequencies: [330] }),
      });
      await dbx.filesUpload({ path: `${base}/Stems/Kick.wav`, contents: makeWav({ seconds: 1, frequencies: [60] }) });
      await dbx.filesUpload({ path: `${base}/Session.als`, contents: Buffer.from('ableton') });
      const view = await page(producer, trackPath);
      expect(view.status).toBe(200);
      expect(view.text).toContain('4 files · 4 not imported');
      expect(view.text).toMatch(/>Bounces <span class="muted">\(2\)</);
      expect(view.text).toMatch(/>Projects <span class="muted">\(1\)</);
      expect(view.text).toMatch(/>Stems <span class="muted">\(1\)</);
      expect(view.text.match(/name="dropboxIds" value="id:/g)).toHaveLength(8); // a tick box and an Import button each
      expect(view.text).toContain('Import selected');
    });

    it('imports the ticked files with one click, and one file with its own button', async () => {
      const listing = (await dbx.filesListFolder({ path: base, recursive: true })).result.entries;
      const idOf = (name: string) => (listing.find((e) => e.name === name) as { id: string }).id;
      // As a browser sends ticked boxes: the same name twice.
      const csrf = await producer.browser.csrfFrom(trackPath);
      const ticked = new URLSearchParams([
        ['_csrf', csrf],
        ['dropboxIds', idOf('Mix v1.wav')],
        ['dropboxIds', idOf('Mix v2.wav')],
      ]);
      const res = await producer.browser.agent
        .post(`${trackPath}/library/import`)
        .redirects(0)
        .type('form')
        .send(ticked.toString());
      expect(await flashAfter(producer, res)).toBe('Imported 2 files.');
      const single = await post(producer, trackPath, `${trackPath}/library/import`, {
        dropboxIds: idOf('Session.als'),
      });
      expect(await flashAfter(producer, single)).toBe('Imported 1 file.');
      expect(await byName('Session.als')).toMatchObject({ category: 'project' });
      const nothing = await post(producer, trackPath, `${trackPath}/library/import`, {});
      expect(await flashAfter(producer, nothing)).toBe('Tick the files to import first.');
      const stranger = await post(producer, trackPath, `${trackPath}/library/import`, {
        dropboxIds: 'id:notinthisfolder',
      });
      expect(await flashAfter(producer, stranger)).toBe(
        "Nothing imported: not in this track's Dropbox folder: id:notinthisfolder.",
      );
      const view = await page(producer, trackPath);
      expect(view.text).toContain('4 files · 1 not imported');
    });

    it('marks and unmarks the master bounce, moves a file to another category, forgets one', async () => {
      const mix = (await byName('Mix v2.wav'))!;
      const on = await post(producer, trackPath, `${trackPath}/files/${mix.id}/master`, { master: 'on' });
      expect(await flashAfter(producer, on)).toBe('Mix v2.wav is now the master.');
      expect((await byName('Mix v2.wav'))!.isMaster).toBe(true);
      expect((await page(producer, trackPath)).text).toMatch(
        /Mix v2\.wav<\/span>\s*<span class="badge badge-ok">master<\/span>/,
      );
      const off = await post(producer, trackPath, `${trackPath}/files/${mix.id}/master`, { master: 'off' });
      expect(await flashAfter(producer, off)).toBe('Mix v2.wav is no longer the master.');
      expect((await byName('Mix v2.wav'))!.isMaster).toBe(false);
      const project = (await byName('Session.als'))!;
      const refused = await post(producer, trackPath, `${trackPath}/files/${project.id}/master`, { master: 'on' });
      expect(await flashAfter(producer, refused)).toBe('Only an audio bounce can be the master.');

      const mix1 = (await byName('Mix v1.wav'))!;
      const moved = await post(producer, trackPath, `${trackPath}/files/${mix1.id}/category`, { category: 'stem' });
      // Move moves the file in Dropbox too, into the track's Stems folder.
      expect(await flashAfter(producer, moved)).toBe(
        'Mix v1.wav moved to Stems, in your Dropbox too (/Producer Dashboard/Night Bus/Stems/Mix v1.wav).',
      );
      const badCategory = await post(producer, trackPath, `${trackPath}/files/${mix1.id}/category`, {
        category: 'loops',
      });
      expect(await flashAfter(producer, badCategory)).toMatch(/^Category must be one of bounce, project, stem/);
      expect((await byName('Mix v1.wav'))!.category).toBe('stem');

      const forgot = await post(producer, trackPath, `${trackPath}/files/${project.id}/forget`);
      expect(await flashAfter(producer, forgot)).toMatch(/File forgotten/);
      expect(await byName('Session.als')).toBeNull();
      expect((await page(producer, trackPath)).text).toContain('4 files · 2 not imported');
    });

    it('shows a file deleted in Dropbox as missing, not as an error', async () => {
      await dbx.filesDeleteV2({ path: `${base}/Bounces/Mix v2.wav` });
      const view = await page(producer, trackPath);
      expect(view.status).toBe(200);
      expect(view.text).toMatch(/Mix v2\.wav<\/span>\s*<span class="badge badge-danger">missing in Dropbox<\/span>/);
      expect(view.text).toContain('1 missing');
    });

    it('follows the track folder moved in Dropbox from the listing alone', async () => {
      await dbx.filesMoveV2({ from_path: base, to_path: '/Archive/Night Bus' });
      emulator.control.resetCounters();
      const view = await page(producer, trackPath);
      expect(view.text).toContain('<code class="path">/Archive/Night Bus</code>');
      expect(view.text).toContain('Stems/Kick.wav');
      expect(view.text).toContain('4 files · 2 not imported · 1 missing');
      // The recursive listing names the folder's new path: no extra metadata call.
      expect(emulator.control.counters().callsByRoute).toEqual({ 'files/list_folder': 1 });
      await dbx.filesMoveV2({ from_path: '/Archive/Night Bus', to_path: base });
    });
  });

  describe('uploads without JavaScript', () => {
    const spooled = async () => (await readdir(spoolDir)).length;
    const uploads = () => em().count(Upload, { track: trackId });

    it('takes several files from a plain multipart form with the CSRF token in the URL', async () => {
      const csrf = await producer.browser.csrfFrom(trackPath);
      expect(decode((await page(producer, trackPath)).text)).toContain(`action="${trackPath}/uploads?_csrf=${csrf}"`);
      const before = { files: await spooled(), rows: await uploads() };
      const res = await producer.browser.agent
        .post(`${trackPath}/uploads?_csrf=${encodeURIComponent(csrf)}`)
        .redirects(0)
        .field('category', 'stem')
        .attach('files', makeWav({ seconds: 1, frequencies: [440] }), 'Vox.wav')
        .attach('files', makeWav({ seconds: 1, frequencies: [880] }), 'Pad.wav');
      expect(res.headers.location).toBe(`${trackPath}#uploads`);
      expect(await flashAfter(producer, res)).toMatch(/^Received 2 files: now storing them in your Dropbox/);
      expect(await uploads()).toBe(before.rows + 2);
      expect(await spooled()).toBe(before.files + 2);
      const rows = await em().find(Upload, { track: trackId }, { orderBy: { fileName: 'asc' } });
      expect(rows.map((u) => [u.fileName, u.category])).toEqual([
        ['Pad.wav', 'stem'],
        ['Vox.wav', 'stem'],
      ]);
      const view = await page(producer, trackPath);
      expect(view.text).toContain('Still on their way into Dropbox');
      expect(view.text).toContain('Vox.wav');
    });

    it.each([
      ['no token', ''],
      ['a wrong token', '?_csrf=0000.1111'],
    ])('refuses a multipart upload with %s (403) and spools nothing', async (_label, query) => {
      const before = { files: await spooled(), rows: await uploads() };
      const res = await producer.browser.agent
        .post(`${trackPath}/uploads${query}`)
        .redirects(0)
        .attach('files', makeWav({ seconds: 1, frequencies: [440] }), 'Sneaky.wav');
      expect(res.status).toBe(403);
      expect(res.text).toContain('invalid or missing CSRF token');
      expect(await uploads()).toBe(before.rows);
      expect(await spooled()).toBe(before.files);
    });

    it('accepts the token in the URL only for multipart bodies', async () => {
      const csrf = await producer.browser.csrfFrom(trackPath);
      const res = await producer.browser.agent
        .post(`${trackPath}?_csrf=${encodeURIComponent(csrf)}`)
        .redirects(0)
        .type('form')
        .send({ title: 'Renamed by query token' });
      expect(res.status).toBe(403);
      expect((await em().findOneOrFail(Track, { id: trackId })).title).toBe('Night Bus (Final)');
    });

    it('says why a refused upload was refused, and keeps nothing', async () => {
      const csrf = await producer.browser.csrfFrom(trackPath);
      const before = { files: await spooled(), rows: await uploads() };
      const res = await producer.browser.agent
        .post(`${trackPath}/uploads?_csrf=${encodeURIComponent(csrf)}`)
        .redirects(0)
        .attach('files', Buffer.from('fine'), 'fine.wav')
        .attach('files', Buffer.alloc(0), 'empty.wav');
      expect(await flashAfter(producer, res)).toBe('Nothing uploaded: empty.wav is empty.');
      expect(await uploads()).toBe(before.rows);
      expect(await spooled()).toBe(before.files);
    });
  });

  describe('collaborators', () => {
    let samId: string;

    it('adds collaborators, with messages beside the fields for bad input and nothing stored', async () => {
      const bad = await post(producer, '/collaborators', '/collaborators', {
        name: '',
        email: 'not-an-email',
        role: 'vocalist',
      });
      expect(bad.status).toBe(400);
      expect(fieldError(bad.text, 'add-name')).toBe('name is required');
      expect(fieldError(bad.text, 'add-email')).toBe('email must be a valid email address (or left empty)');
      expect(bad.text).toContain('value="not-an-email"');
      expect(await em().count(Collaborator, { owner: producer.id })).toBe(0);

      const sam = await post(producer, '/collaborators', '/collaborators', {
        name: 'Sam Rivera',
        email: 'Sam@Example.com',
        role: 'mix engineer',
      });
      expect(await flashAfter(producer, sam)).toBe('Sam Rivera added.');
      const kai = await post(producer, '/collaborators', '/collaborators', {
        name: 'Kai',
        email: '',
        role: 'vocalist',
      });
      expect(kai.status).toBe(303);
      const dupe = await post(producer, '/collaborators', '/collaborators', {
        name: 'Sam again',
        email: 'sam@example.com',
        role: 'x',
      });
      expect(dupe.status).toBe(400);
      expect(fieldError(dupe.text, 'add-email')).toBe('you already have a collaborator with this email');
      expect(await em().count(Collaborator, { owner: producer.id })).toBe(2);

      const list = await page(producer, '/collaborators');
      expect(list.text).toMatch(
        /<strong>Sam Rivera<\/strong><\/td>\s*<td data-label="Email">sam@example.com<\/td>\s*<td data-label="Role">mix engineer<\/td>\s*<td data-label="Tracks">0 tracks<\/td>/,
      );
      expect(list.text).toMatch(
        /<strong>Kai<\/strong><\/td>\s*<td data-label="Email"><span class="badge badge-muted">no email<\/span>/,
      );
      samId = (await em().findOneOrFail(Collaborator, { owner: producer.id, name: 'Sam Rivera' })).id;
    });

    it('edits a collaborator; a refused edit changes nothing', async () => {
      const editPage = `/collaborators/${samId}/edit`;
      expect((await page(producer, editPage)).text).toContain('value="Sam Rivera"');
      const bad = await post(producer, editPage, `/collaborators/${samId}`, {
        name: 'Sam',
        email: 'sam@',
        role: 'mix engineer',
      });
      expect(bad.status).toBe(400);
      expect(fieldError(bad.text, 'edit-email')).toBe('email must be a valid email address (or left empty)');
      expect((await em().findOneOrFail(Collaborator, { id: samId })).name).toBe('Sam Rivera');
      const ok = await post(producer, editPage, `/collaborators/${samId}`, {
        name: 'Sam R.',
        email: 'sam@example.com',
        role: 'mastering engineer',
      });
      expect(await flashAfter(producer, ok)).toBe('Sam R. saved.');
      expect(await em().findOneOrFail(Collaborator, { id: samId })).toMatchObject({
        name: 'Sam R.',
        role: 'mastering engineer',
      });
    });

    it('puts collaborators on a track, adds someone new inline, refuses duplicates, takes them off', async () => {
      const assign = await post(producer, trackPath, `${trackPath}/collaborators`, { collaboratorId: samId });
      expect(await flashAfter(producer, assign)).toBe('Sam R. is now on this track.');
      const again = await post(producer, trackPath, `${trackPath}/collaborators`, { collaboratorId: samId });
      // Sam is no longer offered, and a forged post gets the reason beside the field.
      expect(again.status).toBe(400);
      expect(again.text).toContain('Sam R. is already on this track');

      const badNew = await post(producer, trackPath, `${trackPath}/collaborators/new`, {
        name: 'Lee',
        email: 'lee@',
        role: '',
      });
      expect(badNew.status).toBe(400);
      expect(fieldError(badNew.text, 'new-person-email')).toBe('email must be a valid email address (or left empty)');
      expect(fieldError(badNew.text, 'new-person-role')).toMatch(/^role is required/);
      expect(await em().count(Collaborator, { owner: producer.id })).toBe(2);

      const added = await post(producer, trackPath, `${trackPath}/collaborators/new`, {
        name: 'Lee',
        email: 'lee@example.com',
        role: 'co-producer',
      });
      expect(await flashAfter(producer, added)).toBe('Lee added to your collaborators and to this track.');
      const view = await page(producer, trackPath);
      expect(view.text).toMatch(/<strong>Sam R\.<\/strong>/);
      expect(view.text).toMatch(/<strong>Lee<\/strong>/);
      expect((await page(producer, '/tracks?q=night')).text).toContain('Sam R., Lee');
      expect((await page(producer, '/collaborators')).text).toContain('1 track');

      const remove = await post(producer, trackPath, `${trackPath}/collaborators/${samId}/remove`);
      expect(await flashAfter(producer, remove)).toBe('Collaborator taken off this track.');
      expect((await page(producer, trackPath)).text).not.toMatch(/<strong>Sam R\.<\/strong>/);
    });

    it('adds someone new to a track in one transaction: a refused assignment leaves no collaborator behind', async () => {
      const before = await em().count(Collaborator, { owner: producer.id });
      const service = t.app.get(CollaboratorsService);
      // The track is gone by the time the assignment runs (deleted in another tab): the create must roll back.
      const refused = RequestContext.create(orm.em, () =>
        service.createOnTrack(producer.id, randomUUID(), {
          name: 'Halfway',
          email: 'halfway@example.com',
          role: 'mix engineer',
        }),
      );
      await expect(refused).rejects.toBeInstanceOf(NotFoundException);
      expect(await em().count(Collaborator, { owner: producer.id })).toBe(before);
      expect(await em().count(Collaborator, { owner: producer.id, email: 'halfway@example.com' })).toBe(0);
    });

    it('deletes a collaborator', async () => {
      const res = await post(producer, '/collaborators', `/collaborators/${samId}/delete`);
      expect(await flashAfter(producer, res)).toBe('Sam R. deleted and taken off every track.');
      expect(await em().findOne(Collaborator, { id: samId })).toBeNull();
    });
  });

  describe('owner isolation', () => {
    it('answers 404 pages for another producer’s track, files and collaborators', async () => {
      const file = await em().findOneOrFail(TrackFile, { track: trackId, name: 'Mix v1.wav' });
      const lee = await em().findOneOrFail(Collaborator, { owner: producer.id, name: 'Lee' });
      const them = (path: string) => other.browser.get(path);
      const theirPost = (action: string, fields: Record<string, string> = {}) => post(other, '/tracks', action, fields);

      for (const path of [
        trackPath,
        `${trackPath}/artwork/large`,
        `/collaborators/${lee.id}/edit`,
        '/tracks/not-a-uuid',
      ]) {
        const res = await them(path);
        expect([path, res.status]).toEqual([path, 404]);
        expect(res.text).toContain('Not found');
      }
      const posts: Array<[string, Record<string, string>]> = [
        [trackPath, { title: 'Mine now' }],
        [`${trackPath}/delete`, { confirm: 'yes' }],
        [`${trackPath}/artwork/delete`, {}],
        [`${trackPath}/library/import`, { dropboxIds: 'id:abc' }],
        [`${trackPath}/files/${file.id}/master`, { master: 'on' }],
        [`${trackPath}/files/${file.id}/category`, { category: 'bounce' }],
        [`${trackPath}/files/${file.id}/forget`, {}],
        [`${trackPath}/collaborators`, { collaboratorId: lee.id }],
        [`${trackPath}/collaborators/new`, { name: 'X', email: '', role: 'y' }],
        [`${trackPath}/collaborators/${lee.id}/remove`, {}],
        [`/collaborators/${lee.id}`, { name: 'X', email: '', role: 'y' }],
        [`/collaborators/${lee.id}/delete`, {}],
      ];
      for (const [action, fields] of posts) {
        const res = await theirPost(action, fields);
        expect([action, res.status]).toEqual([action, 404]);
      }
      const csrf = await other.browser.csrfFrom('/tracks');
      const upload = await other.browser.agent
        .post(`${trackPath}/uploads?_csrf=${csrf}`)
        .redirects(0)
        .attach('files', Buffer.from('x'), 'x.wav');
      expect(upload.status).toBe(404);
      // Nothing of the producer's changed.
      const track = await em().findOneOrFail(Track, { id: trackId });
      expect(track.title).toBe('Night Bus (Final)');
      expect(await em().findOne(TrackFile, { id: file.id })).toMatchObject({ category: 'stem' });
      expect(await em().findOne(Collaborator, { id: lee.id })).toMatchObject({ name: 'Lee' });
      expect((await them('/tracks')).text).toContain('0 tracks');
    });
  });

  describe('deleting a track', () => {
    it('needs the confirmation box; then the track is gone and its Dropbox folder stays', async () => {
      const unconfirmed = await post(producer, trackPath, `${trackPath}/delete`, {});
      expect(unconfirmed.status).toBe(400);
      expect(fieldError(unconfirmed.text, 'delete-confirm')).toBe('tick the box to confirm');
      expect(await em().findOne(Track, { id: trackId })).not.toBeNull();

      const res = await post(producer, trackPath, `${trackPath}/delete`, { confirm: 'yes' });
      expect(res.headers.location).toBe('/tracks');
      expect(await flashAfter(producer, res)).toMatch(/Track “Night Bus \(Final\)” deleted/);
      expect((await page(producer, trackPath)).status).toBe(404);
      expect((await dbx.filesGetMetadata({ path: '/Producer Dashboard/Night Bus' })).result['.tag']).toBe('folder');
    });
  });
});
