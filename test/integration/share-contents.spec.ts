import { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { DropboxTokensService } from '../../src/modules/dropbox/dropbox-tokens.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { ShareClock } from '../../src/modules/share/share-clock';
import { seedConnection } from '../support/dropbox';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  eventually,
  makeTrack,
  MadeTrack,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
  uploadFiles,
} from './share-support';

interface ShareBody {
  id: string;
  url: string;
  status: string;
  fileCount: number;
  tracks: Array<{ id: string; title: string; files: string[]; follow: string[] }>;
  stats: { views: number };
}

describe('shares that follow the work: picking tracks, editing contents, following categories', () => {
  let w: ShareWorld;
  let a: MadeTrack;
  let b: MadeTrack;
  let c: MadeTrack;
  let selA: Record<string, string>;
  let selB: Record<string, string>;
  let selC: Record<string, string>;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    a = await makeTrack(w.producer, w.dbx, { title: 'Alpha Song', sharingStatus: 'preview' });
    b = await makeTrack(w.producer, w.dbx, { title: 'Bravo Song', sharingStatus: 'preview' });
    c = await makeTrack(w.producer, w.dbx, { title: 'Charlie Song', sharingStatus: 'preview' });
    // Imported, so that f: ids are stable across the specs.
    for (const t of [a, b, c]) {
      const sel = await selectionOf(w.producer, t.id);
      const res = await api(w.producer).post(`/api/v1/tracks/${t.id}/library/import`, {
        dropboxIds: Object.values(sel).map((v) => v.slice(2)),
      });
      expect(res.status).toBeLessThan(300);
    }
    [selA, selB, selC] = [
      await selectionOf(w.producer, a.id),
      await selectionOf(w.producer, b.id),
      await selectionOf(w.producer, c.id),
    ];
  });
  afterAll(async () => {
    await w?.close();
  });

  const create = (body: object) => api(w.producer).post('/api/v1/shares', body);
  const patch = (id: string, body: object) => api(w.producer).patch(`/api/v1/shares/${id}`, body);
  const getShare = async (id: string) => (await api(w.producer).get(`/api/v1/shares/${id}`)).body as ShareBody;
  const page = async (url: string) => (await w.t.client().get(`/s/${tokenOf(url)}`)).text;

  describe('picking tracks on the tracks list', () => {
    it('has a tick box per track (its id) in a form that opens the share form for the selection', async () => {
      const res = await w.producer.browser.get('/tracks');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<form id="pick-tracks" class="pick-tracks" method="get" action="/shares/new">');
      for (const t of [a, b, c]) expect(res.text).toContain(`name="tracks" value="${t.id}"`);
      expect(res.text).toMatch(/<button type="submit"[^>]*>Share selected<\/button>/);
      expect(res.text).not.toMatch(/name="tracks" value="[^"]+"[^>]* checked/);
      // Without JavaScript, "Select all" is a link to the same page with every box ticked.
      const all = await w.producer.browser.get('/tracks?select=all');
      for (const t of [a, b, c]) expect(all.text).toMatch(new RegExp(`name="tracks" value="${t.id}"[^>]* checked`));
    });

    it('opens the share form for the ticked tracks (repeated tracks= fields, as the form sends them)', async () => {
      const res = await w.producer.browser.get(`/shares/new?tracks=${a.id}&tracks=${b.id}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('Alpha Song');
      expect(res.text).toContain('Bravo Song');
      expect(res.text).not.toContain('Charlie Song');
      expect(res.text).toContain(`name="files" value="${a.id}/${selA['Master.wav']}" checked`);
      expect(res.text).toContain(`name="tracks" value="${b.id}"`);
    });

    it('answers 400 naming the field for an empty selection, and a clear message over 50 tracks', async () => {
      const empty = await w.producer.browser.get('/shares/new');
      expect(empty.status).toBe(400);
      expect(empty.text).toContain('<strong>tracks</strong>');
      expect(empty.text).toContain('choose at least one track');
      const json = await w.producer.browser.get('/shares/new?tracks=').set('Accept', 'application/json');
      expect(json.status).toBe(400);
      expect(json.body.errors).toEqual([expect.objectContaining({ field: 'tracks' })]);
      const many = Array.from({ length: 51 }, () => randomUUID());
      const tooMany = await w.producer.browser.get(`/shares/new?${many.map((id) => `tracks=${id}`).join('&')}`);
      expect(tooMany.status).toBe(400);
      expect(tooMany.text).toContain('a share holds at most 50 tracks; 51 were selected');
    });
  });

  describe('editing a share after creation (PATCH /api/v1/shares/{id} with tracks)', () => {
    it('adds, reorders and removes tracks and changes their files: same URL, statistics kept, the page changes at once', async () => {
      const made = await create({
        tracks: [
          { trackId: a.id, files: [selA['Master.wav']] },
          { trackId: b.id, files: [selB['Master.wav']] },
        ],
      });
      expect(made.status).toBe(201);
      const share = made.body as ShareBody;
      // A view renders and caches the page, and is counted.
      expect(await page(share.url)).not.toContain('Charlie Song');
      await w.t.client().get(`/s/${tokenOf(share.url)}`);

      const edited = await patch(share.id, {
        tracks: [
          { trackId: c.id, files: [selC['Master.wav'], selC['Drums.wav']] },
          { trackId: a.id, files: [selA['Alt mix.wav']] },
        ],
      });
      expect(edited.status).toBe(200);
      const body = edited.body as ShareBody;
      expect(body.url).toBe(share.url);
      expect(body.tracks.map((t) => t.title)).toEqual(['Charlie Song', 'Alpha Song']);
      expect(body.tracks[0].files.sort()).toEqual([selC['Master.wav'], selC['Drums.wav']].sort());
      expect(body.tracks[1].files).toEqual([selA['Alt mix.wav']]);
      expect(body.fileCount).toBe(3);

      const html = await page(share.url);
      expect(html.indexOf('Charlie Song')).toBeGreaterThan(-1);
      expect(html.indexOf('Charlie Song')).toBeLessThan(html.indexOf('Alpha Song'));
      expect(html).not.toContain('Bravo Song');
      expect(html).toContain('Alt mix.wav');
      expect(html).toContain('Drums.wav');
      // A removed file is no longer served; a new one is.
      expect(
        (await w.t.client().get(`/s/${tokenOf(share.url)}/files/${selB['Master.wav'].slice(2)}/download`)).status,
      ).toBe(404);
      expect(
        (
          await w.t
            .client()
            .get(`/s/${tokenOf(share.url)}/files/${selC['Master.wav'].slice(2)}/download`)
            .redirects(0)
        ).status,
      ).toBe(302);

      // The views counted before the edit are still there (counters are flushed in batches; wait for the sum).
      await eventually(
        () => getShare(share.id),
        (s) => s.stats.views >= 2,
      );
    });

    it('imports files named by Dropbox id on the way, as creation does', async () => {
      const fresh = await makeTrack(w.producer, w.dbx, { title: 'Delta Song' });
      const sel = await selectionOf(w.producer, fresh.id);
      expect(sel['Bass.wav']).toMatch(/^d:/);
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      const res = await patch(share.id, {
        tracks: [
          { trackId: a.id, files: [selA['Master.wav']] },
          { trackId: fresh.id, files: [sel['Bass.wav']] },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.tracks[1].files).toEqual([expect.stringMatching(/^f:/)]);
      expect(await page(share.url)).toContain('Bass.wav');
    });

    it('refuses bad contents with 400 naming the field, and changes nothing', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      const before = await getShare(share.id);
      const theirs = await makeTrack(w.other, w.otherDbx, { title: 'Not Yours' });
      const cases: Array<[string, object, string]> = [
        ['an unknown file id', { tracks: [{ trackId: a.id, files: [`f:${randomUUID()}`] }] }, 'tracks.0.files'],
        ['a file of another track', { tracks: [{ trackId: a.id, files: [selB['Master.wav']] }] }, 'tracks.0.files'],
        [
          'a file id that is not in the folder',
          { tracks: [{ trackId: a.id, files: ['d:id:nothere123'] }] },
          'dropboxIds',
        ],
        [
          "another producer's track",
          {
            tracks: [
              { trackId: a.id, files: [selA['Master.wav']] },
              { trackId: theirs.id, files: [] },
            ],
          },
          'tracks.1.trackId',
        ],
        [
          'more than 50 tracks',
          { tracks: Array.from({ length: 51 }, () => ({ trackId: randomUUID(), files: [] })) },
          'tracks',
        ],
        ['an empty list of tracks', { tracks: [] }, 'tracks'],
        ['no file and nothing followed', { tracks: [{ trackId: a.id, files: [] }] }, 'files'],
        [
          'a track twice',
          {
            tracks: [
              { trackId: a.id, files: [selA['Master.wav']] },
              { trackId: a.id, files: [] },
            ],
          },
          'tracks',
        ],
        [
          'an unknown category to follow',
          { tracks: [{ trackId: a.id, files: [], follow: ['vocals'] }] },
          'tracks.0.follow',
        ],
        ['a malformed selection', { tracks: [{ trackId: a.id, files: ['x:1'] }] }, 'tracks.0.files'],
      ];
      for (const [label, body, field] of cases) {
        const res = await patch(share.id, body);
        expect({ label, status: res.status }).toEqual({ label, status: 400 });
        const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field);
        expect({ label, fields }).toEqual({ label, fields: expect.arrayContaining([field]) });
        expect(await getShare(share.id)).toEqual(before);
      }
    });

    it('answers 404 for another producer editing the share', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      const res = await api(w.other).patch(`/api/v1/shares/${share.id}`, {
        tracks: [{ trackId: a.id, files: [selA['Alt mix.wav']] }],
      });
      expect(res.status).toBe(404);
      expect((await getShare(share.id)).tracks[0].files).toEqual([selA['Master.wav']]);
    });

    it('keeps a disabled link read-only (409), saying to create a new link', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      expect((await api(w.producer).post(`/api/v1/shares/${share.id}/revoke`)).status).toBe(200);
      const res = await patch(share.id, { title: 'again', tracks: [{ trackId: b.id, files: [selB['Master.wav']] }] });
      expect(res.status).toBe(409);
      expect(res.body.message).toContain('Create a new link');
      const detail = await w.producer.browser.get(`/shares/${share.id}`);
      expect(detail.text).toContain('This link is disabled');
      expect(detail.text.replace(/&#x3D;/g, '=')).toContain(`href="/shares/new?tracks=${a.id}"`);
      expect(detail.text).toMatch(/<fieldset class="plain-fieldset" disabled>/);
      expect(detail.text).not.toContain('Edit contents');
      expect(detail.text).toContain('>disabled</span>');
      expect((await w.producer.browser.get(`/shares/${share.id}/contents`)).status).toBe(409);
    });
  });

  describe('wording on the share page', () => {
    afterEach(() => jest.restoreAllMocks());

    it('says when an expired link expired (not its duration) and offers "7 days from now" and "Never expires"', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }], expiry: '7d' }))
        .body as ShareBody & { expiresAt: string };
      const fresh = (await w.producer.browser.get(`/shares/${share.id}`)).text;
      expect(fresh).toContain('(7 days from when it was set)');
      expect(fresh).toContain('>7 days from now</option>');
      expect(fresh).toContain('>Never expires</option>');
      expect(fresh).not.toContain('Never from now');
      const later = new Date(Date.parse(share.expiresAt) + 24 * 3600_000);
      jest.spyOn(w.t.app.get(ShareClock), 'now').mockReturnValue(later);
      const expired = (await w.producer.browser.get(`/shares/${share.id}`)).text;
      expect(expired).toContain(`Expired on ${share.expiresAt.slice(0, 10)}`);
      expect(expired).not.toContain('(7 days');
      expect(expired).toContain('>expired</span>');
    });
  });

  describe('following categories', () => {
    it('puts every current and future file of a followed category on the link, uploads included', async () => {
      const share = (await create({ tracks: [{ trackId: b.id, files: [selB['Master.wav']] }] })).body as ShareBody;
      const res = await patch(share.id, { tracks: [{ trackId: b.id, files: [selB['Master.wav']], follow: ['stem'] }] });
      expect(res.status).toBe(200);
      expect(res.body.tracks[0].follow).toEqual(['stem']);
      expect(res.body.tracks[0].files.sort()).toEqual([selB['Master.wav'], selB['Drums.wav'], selB['Bass.wav']].sort());
      expect(await page(share.url)).not.toContain('Shaker.wav');

      const up = await uploadFiles(
        w.producer,
        b.id,
        { category: 'stem' },
        { 'Shaker.wav': makeWav({ seconds: 1, frequencies: [880], channels: 1, sampleRate: 22_050 }) },
      );
      expect(up.status).toBe(201);
      // No edit: the new stem is on the link as soon as it is in the library, and the cached page shows it.
      await eventually(
        () => page(share.url),
        (html) => html.includes('Shaker.wav'),
      );
      const after = await getShare(share.id);
      expect(after.tracks[0].files).toHaveLength(4);
      // A bounce uploaded meanwhile is not followed.
      await uploadFiles(
        w.producer,
        b.id,
        { category: 'bounce' },
        { 'Other mix.wav': makeWav({ seconds: 1, frequencies: [300], channels: 1, sampleRate: 22_050 }) },
      );
      await eventually(
        async () => (await api(w.producer).get(`/api/v1/tracks/${b.id}/uploads`)).body as Array<{ status: string }>,
        (list) => list.every((u) => u.status === 'done'),
      );
      expect(await page(share.url)).not.toContain('Other mix.wav');
    });

    it('can follow from the Share tab form as well', async () => {
      const tab = await w.producer.browser.get(`/tracks/${c.id}/share`);
      expect(tab.text).toContain(`name="follow" value="${c.id}/stem"`);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(tab.text)![1];
      const form = new URLSearchParams({
        _csrf: csrf,
        tracks: c.id,
        files: selC['Master.wav'],
        follow: `${c.id}/stem`,
        expiry: '30d',
      });
      const res = await w.producer.browser.agent
        .post(`/tracks/${c.id}/share`)
        .redirects(0)
        .type('form')
        .send(form.toString());
      expect(res.status).toBe(303);
      const made = await getShare(res.headers.location.split('/')[2]);
      expect(made.tracks[0].follow).toEqual(['stem']);
      expect(made.tracks[0].files).toEqual(
        expect.arrayContaining([selC['Master.wav'], selC['Drums.wav'], selC['Bass.wav']]),
      );
      const refused = await w.producer.browser.agent
        .post(`/tracks/${c.id}/share`)
        .redirects(0)
        .type('form')
        .send(
          new URLSearchParams({
            _csrf: csrf,
            tracks: c.id,
            files: selC['Master.wav'],
            follow: `${c.id}/vocals`,
          }).toString(),
        );
      expect(refused.status).toBe(400);
    });

    it('can follow from creation, before the category has any file', async () => {
      const fresh = await makeTrack(
        w.producer,
        w.dbx,
        { title: 'Echo Song' },
        { 'Bounces/Echo.wav': makeWav({ seconds: 1, frequencies: [200], channels: 1, sampleRate: 22_050 }) },
      );
      const sel = await selectionOf(w.producer, fresh.id);
      const res = await create({ tracks: [{ trackId: fresh.id, files: [sel['Echo.wav']], follow: ['project'] }] });
      expect(res.status).toBe(201);
      expect(res.body.tracks[0].follow).toEqual(['project']);
      await uploadFiles(
        w.producer,
        fresh.id,
        { category: 'project' },
        { 'Echo.als': Buffer.from('ableton '.repeat(100)) },
      );
      await eventually(
        () => page(res.body.url),
        (html) => html.includes('Echo.als'),
      );
    });
  });

  describe('the Dropbox connection', () => {
    it('a page that said "downloads are paused" is dropped as soon as Dropbox is reconnected', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      expect(await page(share.url)).not.toMatch(/downloads are paused/i);
      const connection = await w.t.app
        .get(EntityManager)
        .fork()
        .findOneOrFail(DropboxConnection, { user: w.producer.id });
      await w.t.app.get(DropboxTokensService).markExpired(connection.id, 'invalid_grant');
      expect(await page(share.url)).toMatch(/downloads are paused/i);
      await seedConnection(w.t, w.emulator, w.producer, { email: connection.email });
      expect(await page(share.url)).not.toMatch(/downloads are paused/i);
    });
  });

  describe('the contents editor on the share page (no JavaScript needed)', () => {
    it('lists the tracks with their files ticked, adds one through a plain GET form, saves order, removal and follow', async () => {
      const share = (
        await create({
          tracks: [
            { trackId: a.id, files: [selA['Master.wav']] },
            { trackId: b.id, files: [selB['Master.wav']] },
          ],
        })
      ).body as ShareBody;
      const detail = await w.producer.browser.get(`/shares/${share.id}`);
      expect(detail.text).toContain(`href="/shares/${share.id}/contents"`);
      const editor = await w.producer.browser.get(`/shares/${share.id}/contents`);
      expect(editor.status).toBe(200);
      expect(editor.text).toContain(`name="files" value="${a.id}/${selA['Master.wav']}" checked`);
      expect(editor.text).toContain(`name="files" value="${a.id}/${selA['Alt mix.wav']}">`);
      expect(editor.text).toContain(`name="add" value="${c.id}"`);

      const added = await w.producer.browser.get(
        `/shares/${share.id}/contents?tracks=${a.id}&tracks=${b.id}&add=${c.id}`,
      );
      expect(added.status).toBe(200);
      expect(added.text).toContain(`name="files" value="${c.id}/${selC['Master.wav']}" checked`);
      expect(added.text).toContain('being added');

      const csrf = /name="_csrf" value="([^"]+)"/.exec(added.text)![1];
      const form = new URLSearchParams();
      form.append('_csrf', csrf);
      for (const id of [a.id, b.id, c.id]) form.append('tracks', id);
      form.append(`order_${a.id}`, '2');
      form.append(`order_${b.id}`, '3');
      form.append(`order_${c.id}`, '1');
      form.append('remove', b.id);
      form.append('files', `${a.id}/${selA['Master.wav']}`);
      form.append('files', `${c.id}/${selC['Master.wav']}`);
      form.append('follow', `${c.id}/stem`);
      const saved = await w.producer.browser.agent
        .post(`/shares/${share.id}/contents`)
        .redirects(0)
        .type('form')
        .send(form.toString());
      expect(saved.status).toBe(303);
      const after = await getShare(share.id);
      expect(after.url).toBe(share.url);
      expect(after.tracks.map((t) => t.title)).toEqual(['Charlie Song', 'Alpha Song']);
      expect(after.tracks[0].follow).toEqual(['stem']);
      expect(after.tracks[0].files).toEqual(
        expect.arrayContaining([selC['Master.wav'], selC['Drums.wav'], selC['Bass.wav']]),
      );
    });

    it('shows the form again with the reason when nothing would be left', async () => {
      const share = (await create({ tracks: [{ trackId: a.id, files: [selA['Master.wav']] }] })).body as ShareBody;
      const res = await w.producer.browser.submit(`/shares/${share.id}/contents`, `/shares/${share.id}/contents`, {
        tracks: a.id,
        remove: a.id,
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain('a share keeps at least one track');
      expect((await getShare(share.id)).tracks).toHaveLength(1);
    });
  });
});
