import { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { RedisService } from '../../src/common/redis/redis.module';
import { User } from '../../src/modules/accounts/entities/user.entity';
import { Track } from '../../src/modules/files/entities/track.entity';
import { ShareClock } from '../../src/modules/share/share-clock';
import { shareTokenHash } from '../../src/modules/share/share-rules';
import { ShareTuning } from '../../src/modules/share/share-tuning';
import { signedInUser } from '../support/users';
import {
  api,
  countQueries,
  makeTrack,
  MadeTrack,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from './share-support';

const DAY = 24 * 3600_000;

describe('share links: the Share tab, management and access rules', () => {
  let w: ShareWorld;
  let track: MadeTrack;
  let sel: Record<string, string>;

  beforeAll(async () => {
    w = await startShareWorld();
    track = await makeTrack(w.producer, w.dbx, {
      title: 'Midnight Drive',
      sharingStatus: 'preview',
      bpm: 124,
      key: 'F# minor',
      artist: 'Ana',
    });
    sel = await selectionOf(w.producer, track.id);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await w?.close();
  });

  const create = (body: object) => api(w.producer).post('/api/v1/shares', body);
  const everything = () => ({ trackId: track.id, files: Object.values(sel) });
  const page = (token: string) => w.t.client().get(`/s/${token}`);

  describe('Share tab', () => {
    it('lists the track files, marks those not imported, checks the bounces and sets the defaults of its sharing status', async () => {
      const res = await w.producer.browser.get(`/tracks/${track.id}/share`);
      expect(res.status).toBe(200);
      for (const name of ['Master.wav', 'Alt mix.wav', 'Session.als', 'Song.logicx', 'Drums.wav', 'Bass.wav'])
        expect(res.text).toContain(name);
      expect(res.text).toContain(`name="files" value="${sel['Master.wav']}" checked`);
      expect(res.text).toContain(`name="files" value="${sel['Drums.wav']}">`);
      expect(res.text).toMatch(/not imported/);
      // preview: bounces downloadable, projects and stems not
      expect(res.text).toContain('name="download_bounce" checked');
      expect(res.text).toContain('name="download_project">');
      expect(res.text).toContain('name="download_stem">');
      for (const choice of ['7d', '30d', '90d', 'never']) expect(res.text).toContain(`name="expiry" value="${choice}"`);
    });

    it('creates a link from the form, importing what was not imported, and shows it with a copy button', async () => {
      const csrf = await w.producer.browser.csrfFrom(`/tracks/${track.id}/share`);
      const res = await w.producer.browser.agent
        .post(`/tracks/${track.id}/share`)
        .redirects(0)
        .type('form')
        .send(
          `_csrf=${encodeURIComponent(csrf)}&tracks=${track.id}&files=${encodeURIComponent(sel['Master.wav'])}&files=${encodeURIComponent(sel['Drums.wav'])}&download_bounce=on&expiry=7d&title=&message=Hi`,
        );
      expect(res.status).toBe(303);
      const detail = await w.producer.browser.get(res.headers.location);
      expect(detail.status).toBe(200);
      expect(detail.text).toContain('data-copy="#share-url"');
      const url = /<code id="share-url"[^>]*>([^<]+)<\/code>/.exec(detail.text)![1];
      expect(url).toMatch(new RegExp(`^${w.t.config.http.publicUrl}/s/[A-Za-z0-9_-]{24}$`));
      const lib = await api(w.producer).get(`/api/v1/tracks/${track.id}/library`);
      const byName = Object.fromEntries(lib.body.items.map((i: { name: string }) => [i.name, i]));
      expect(byName['Master.wav'].imported).toBe(true);
      expect(byName['Drums.wav'].imported).toBe(true);
      expect(byName['Bass.wav'].imported).toBe(false);
      sel = await selectionOf(w.producer, track.id);
    });

    it('shows the Share Files with Collaborators button in the same form when the track has collaborators', async () => {
      const without = await w.producer.browser.get(`/tracks/${track.id}/share`);
      expect(without.text).not.toContain('Share Files with Collaborators');
      const collab = await api(w.producer).post('/api/v1/collaborators', {
        name: 'Sam',
        email: 'sam@example.com',
        role: 'mixing engineer',
      });
      expect(collab.status).toBe(201);
      expect(
        (await api(w.producer).post(`/api/v1/tracks/${track.id}/collaborators`, { collaboratorId: collab.body.id }))
          .status,
      ).toBeLessThan(300);
      const withOne = await w.producer.browser.get(`/tracks/${track.id}/share`);
      expect(withOne.text).toContain(`formaction="/tracks/${track.id}/collaboration"`);
      expect(withOne.text).toContain('Share Files with Collaborators');
      expect(withOne.text).toContain(`href="/tracks/${track.id}/collaboration"`);
    });

    it('without a Dropbox connection shows the prompt, and the API refuses clearly', async () => {
      const lonely = await signedInUser(w.t);
      const em = w.t.app.get(EntityManager).fork();
      const own = em.create(Track, { owner: em.getReference(User, lonely.id), title: 'Offline' });
      await em.persist(own).flush();
      const tab = await lonely.browser.get(`/tracks/${own.id}/share`);
      expect(tab.status).toBe(200);
      expect(tab.text).toContain('Connect your Dropbox first');
      const res = await api(lonely).post('/api/v1/shares', { tracks: [{ trackId: own.id, files: ['d:id:abc'] }] });
      expect(res.status).toBe(409);
      expect(res.body.message).toMatch(/Dropbox is not connected.*Settings/);
    });

    it('opens for several tracks, enabling a category only when every track enables it', async () => {
      const second = await makeTrack(
        w.producer,
        w.dbx,
        { title: 'Aurora', sharingStatus: 'collaborative' },
        { 'Bounces/Aurora.wav': Buffer.from('RIFF') },
      );
      const res = await w.producer.browser.get(`/shares/new?tracks=${track.id},${second.id}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('name="download_bounce" checked');
      expect(res.text).toContain('name="download_stem">');
      const secondSel = await selectionOf(w.producer, second.id);
      expect(res.text).toContain(`value="${second.id}/${secondSel['Aurora.wav']}"`);

      const csrf = /name="_csrf" value="([^"]+)"/.exec(res.text)![1];
      const created = await w.producer.browser.agent
        .post('/shares')
        .redirects(0)
        .type('form')
        .send(
          `_csrf=${encodeURIComponent(csrf)}&tracks=${second.id}&tracks=${track.id}&files=${encodeURIComponent(`${second.id}/${secondSel['Aurora.wav']}`)}&files=${encodeURIComponent(`${track.id}/${sel['Master.wav']}`)}&expiry=never`,
        );
      expect(created.status).toBe(303);
      const id = created.headers.location.split('/').pop();
      const view = await api(w.producer).get(`/api/v1/shares/${id}`);
      expect(view.body).toMatchObject({
        title: '2 tracks',
        expiresAt: null,
        tracks: [{ title: 'Aurora' }, { title: 'Midnight Drive' }],
        fileCount: 2,
      });
      // the recipient sees them in the owner's order
      const html = (await page(tokenOf(view.body.url))).text;
      expect(html.indexOf('Aurora')).toBeLessThan(html.indexOf('Midnight Drive'));
    });

    it('refuses more than 50 tracks in one link', async () => {
      const ids = Array.from({ length: 51 }, () => randomUUID());
      expect((await w.producer.browser.get(`/shares/new?tracks=${ids.join(',')}`)).status).toBe(400);
      const res = await create({ tracks: ids.map((trackId) => ({ trackId, files: [] })) });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ field: 'tracks', message: expect.stringMatching(/at most 50/) });
    });
  });

  describe('bad input changes nothing', () => {
    it.each([
      [{ tracks: [] }, 'tracks', /at least one/],
      [{ tracks: [{ trackId: 'nope', files: [] }] }, 'tracks.0.trackId', /track id/],
      [{ tracks: [{ trackId: randomUUID(), files: ['x:1'] }] }, 'tracks.0.files', /f:<file id>/],
      [{ tracks: [{ trackId: randomUUID(), files: [] }], expiry: 'forever' }, 'expiry', /one of 7d, 30d, 90d, never/],
      [
        { tracks: [{ trackId: randomUUID(), files: [] }], downloads: { bounce: 'yes' } },
        'downloads.bounce',
        /true or false/,
      ],
      [{ tracks: [{ trackId: randomUUID(), files: [] }], password: 'abcdefg' }, 'password', /at least 8/],
      [{ tracks: [{ trackId: randomUUID(), files: [] }], owner: 'me' }, 'owner', /should not exist/],
    ])('%j → 400 naming %s', async (body, field, message) => {
      const before = (await api(w.producer).get('/api/v1/shares')).body.length;
      const res = await create(body);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]),
      );
      expect((await api(w.producer).get('/api/v1/shares')).body.length).toBe(before);
    });

    it('refuses an empty selection, and files of another producer, naming files', async () => {
      expect((await create({ tracks: [{ trackId: track.id, files: [] }] })).body.errors[0].field).toBe('files');
      const theirs = await makeTrack(
        w.other,
        w.otherDbx,
        { title: 'Theirs' },
        { 'Bounces/Theirs.wav': Buffer.from('RIFF') },
      );
      const theirSel = await selectionOf(w.other, theirs.id);
      await api(w.other).post(`/api/v1/tracks/${theirs.id}/library/import`, {
        dropboxIds: [theirSel['Theirs.wav'].slice(2)],
      });
      const imported = await selectionOf(w.other, theirs.id);
      const res = await create({ tracks: [{ trackId: track.id, files: [imported['Theirs.wav']] }] });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('tracks.0.files');
      // their track is not ours: 404, as if it did not exist
      expect((await create({ tracks: [{ trackId: theirs.id, files: [imported['Theirs.wav']] }] })).status).toBe(404);
    });
  });

  describe('management', () => {
    let share: { id: string; url: string };
    beforeAll(async () => {
      const res = await create({
        tracks: [everything()],
        title: 'For the label',
        message: 'Tell me what you think',
        expiry: '30d',
      });
      expect(res.status).toBe(201);
      share = res.body;
    });

    it('lists every share with tracks, permissions, expiry, status and counters', async () => {
      const res = await w.producer.browser.get('/shares');
      expect(res.status).toBe(200);
      expect(res.text).toContain('For the label');
      expect(res.text).toContain('Midnight Drive');
      expect(res.text).toMatch(/Bounces: on \(0\)/);
      expect(res.text).toMatch(/Stems: off \(0\)/);
      expect(res.text).toContain('share-status-active');
      const list = await api(w.producer).get('/api/v1/shares');
      const mine = list.body.find((s: { id: string }) => s.id === share.id);
      expect(mine).toMatchObject({
        status: 'active',
        expiry: '30d',
        hasPassword: false,
        downloads: { bounce: true, project: false, stem: false },
      });
      expect(mine).not.toHaveProperty('passwordHash');
      expect(mine).not.toHaveProperty('token');
    });

    it('edits apply at once and keep the URL', async () => {
      const token = tokenOf(share.url);
      expect((await page(token)).text).toContain('For the label');
      const csrf = await w.producer.browser.csrfFrom(`/shares/${share.id}`);
      const res = await w.producer.browser.submit(
        `/shares/${share.id}`,
        `/shares/${share.id}`,
        {
          title: 'For the label (v2)',
          message: 'New mix',
          expiry: 'keep',
          download_bounce: 'on',
          download_stem: 'on',
        },
        csrf,
      );
      expect(res.status).toBe(303);
      const after = await api(w.producer).get(`/api/v1/shares/${share.id}`);
      expect(after.body).toMatchObject({
        url: share.url,
        title: 'For the label (v2)',
        downloads: { bounce: true, project: false, stem: true },
        expiry: '30d',
      });
      const html = (await page(token)).text;
      expect(html).toContain('For the label (v2)');
      expect(html).toContain('New mix');
    });

    it('refuses a bad edit with 400 naming the field', async () => {
      const res = await api(w.producer).patch(`/api/v1/shares/${share.id}`, { expiry: '1y' });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe('expiry');
      const form = await w.producer.browser.submit(`/shares/${share.id}`, `/shares/${share.id}`, {
        title: 'x'.repeat(300),
        expiry: 'keep',
      });
      expect(form.status).toBe(400);
      expect(form.text).toContain('title must be at most 200 characters');
    });

    it("answers 404 for another producer's share, on every route", async () => {
      const them = api(w.other);
      expect((await them.get(`/api/v1/shares/${share.id}`)).status).toBe(404);
      expect((await them.patch(`/api/v1/shares/${share.id}`, { title: 'mine now' })).status).toBe(404);
      expect((await them.post(`/api/v1/shares/${share.id}/revoke`)).status).toBe(404);
      expect((await w.other.browser.get(`/shares/${share.id}`)).status).toBe(404);
      expect((await w.other.browser.get(`/tracks/${track.id}/share`)).status).toBe(404);
      expect((await api(w.producer).get(`/api/v1/shares/${share.id}`)).body.title).toBe('For the label (v2)');
    });
  });

  describe('access rules', () => {
    it('unknown or malformed tokens are 404 pages, never 500', async () => {
      for (const token of ['AAAAAAAAAAAAAAAAAAAAAAAA', 'x', '..%2F..%2Fetc', 'a'.repeat(80)]) {
        const res = await page(token);
        expect(res.status).toBe(404);
        expect(res.text).toContain('This link does not exist');
        expect(res.headers['x-robots-tag']).toMatch(/noindex/);
      }
    });

    it('expires after 7, 30 and 90 days (clock injected), and "never" does not', async () => {
      const clock = w.t.app.get(ShareClock);
      const tokens: Record<string, string> = {};
      for (const expiry of ['7d', '30d', '90d', 'never']) {
        const res = await create({ tracks: [everything()], expiry });
        tokens[expiry] = tokenOf(res.body.url);
        if (expiry !== 'never')
          expect(new Date(res.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(
            Number.parseInt(expiry, 10) * DAY - 60_000,
          );
      }
      const at = (ms: number) => jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + ms));
      const fileId = sel['Master.wav'].slice(2);
      for (const [expiry, days] of [
        ['7d', 7],
        ['30d', 30],
        ['90d', 90],
      ] as const) {
        at(days * DAY - 60_000);
        expect((await page(tokens[expiry])).status).toBe(200);
        at(days * DAY + 60_000);
        const gone = await page(tokens[expiry]);
        expect(gone.status).toBe(410);
        expect(gone.text).toContain('This link has expired');
        // every file route says the same
        expect((await w.t.client().get(`/s/${tokens[expiry]}/files/${fileId}/download`)).status).toBe(410);
        expect((await w.t.client().get(`/s/${tokens[expiry]}/download-all`)).status).toBe(410);
        expect((await w.t.client().get(`/s/${tokens[expiry]}/files/${fileId}/play`)).status).toBe(410);
      }
      at(10 * 365 * DAY);
      expect((await page(tokens.never)).status).toBe(200);
      jest.restoreAllMocks();
    });

    it('revoking is immediate, for the page and every file route', async () => {
      const res = await create({ tracks: [everything()] });
      const token = tokenOf(res.body.url);
      expect((await page(token)).status).toBe(200);
      expect((await api(w.producer).post(`/api/v1/shares/${res.body.id}/revoke`)).body.status).toBe('revoked');
      const gone = await page(token);
      expect(gone.status).toBe(410);
      expect(gone.text).toContain('This link has been disabled');
      const fileId = sel['Master.wav'].slice(2);
      expect((await w.t.client().get(`/s/${token}/files/${fileId}/download`)).status).toBe(410);
      expect((await w.t.client().get(`/s/${token}/files/${fileId}/play`)).status).toBe(410);
      expect((await w.t.client().get(`/s/${token}/artwork/${track.id}`)).status).toBe(410);
      // from the management page too
      const other = await create({ tracks: [everything()] });
      // The button leads to a confirmation; posting without it only asks again and changes nothing.
      const unconfirmed = await w.producer.browser.submit(
        `/shares/${other.body.id}`,
        `/shares/${other.body.id}/revoke`,
        {},
      );
      expect(unconfirmed.status).toBe(200);
      expect(unconfirmed.text).toContain('Disable this link?');
      expect((await page(tokenOf(other.body.url))).status).toBe(200);
      const revoked = await w.producer.browser.submit(
        `/shares/${other.body.id}/revoke`,
        `/shares/${other.body.id}/revoke`,
        { confirm: 'yes' },
      );
      expect(revoked.status).toBe(303);
      expect((await page(tokenOf(other.body.url))).status).toBe(410);
    });

    describe('caching never outlives an edit', () => {
      /**
       * Holds the app's next Redis SET of a key matching `pattern` until `release` is called: a view that read the
       * share from PostgreSQL is stopped just before it caches what it read, so an edit can land in between.
       */
      function holdNextSet(pattern: RegExp) {
        const client = w.t.app.get(RedisService).client;
        const realSet = client.set.bind(client) as (...args: unknown[]) => Promise<unknown>;
        let reached!: () => void;
        let release!: () => void;
        const atSet = new Promise<void>((resolve) => (reached = resolve));
        const gate = new Promise<void>((resolve) => (release = resolve));
        const spy = jest.spyOn(client, 'set').mockImplementation((async (...args: unknown[]) => {
          if (typeof args[0] === 'string' && pattern.test(args[0])) {
            spy.mockRestore();
            reached();
            await gate;
          }
          return realSet(...args);
        }) as never);
        return { atSet, release };
      }

      const dropCache = async (token: string) => {
        const redis = w.t.app.get(RedisService);
        await redis.client.del(
          redis.key('share', 'rec', shareTokenHash(token)),
          redis.key('share', 'page', shareTokenHash(token)),
        );
      };

      it('a view that read the share just before it was revoked cannot put the open record back', async () => {
        const res = await create({ tracks: [everything()] });
        const token = tokenOf(res.body.url);
        await dropCache(token);
        const held = holdNextSet(/:share:rec:/);
        const view = page(token).then((r) => r);
        await held.atSet;
        expect((await api(w.producer).post(`/api/v1/shares/${res.body.id}/revoke`)).body.status).toBe('revoked');
        held.release();
        expect((await view).status).toBe(200); // it asked before the revocation
        expect((await page(token)).status).toBe(410);
      });

      it('a page rendered from the share as it was before an edit is not served after it', async () => {
        const res = await create({ tracks: [everything()], title: 'Before the edit' });
        const token = tokenOf(res.body.url);
        await dropCache(token);
        const held = holdNextSet(/:share:page:/);
        const view = page(token).then((r) => r);
        await held.atSet;
        expect((await api(w.producer).patch(`/api/v1/shares/${res.body.id}`, { title: 'After the edit' })).status).toBe(
          200,
        );
        held.release();
        expect((await view).text).toContain('Before the edit');
        const after = await page(token);
        expect(after.text).toContain('After the edit');
        expect(after.text).not.toContain('Before the edit');
      });

      it('views arriving together while the page is rebuilt share one read and one render', async () => {
        const res = await create({ tracks: [everything()] });
        const token = tokenOf(res.body.url);
        await dropCache(token);
        const { result, queries } = await countQueries(w.t, () =>
          Promise.all(Array.from({ length: 20 }, () => page(token))),
        );
        expect(result.map((r) => r.status)).toEqual(Array(20).fill(200));
        expect(new Set(result.map((r) => r.text)).size).toBe(1);
        // The page's own statements, each once: one read of the share, one render (its files, previews and the
        // owner's Dropbox status). Counted by what they read, so a statement the process runs for something else
        // meanwhile (a busy machine stretches the 20 views) is not taken for a second read; a failure lists them.
        const reading = (table: string) => queries.filter((sql) => sql.includes(`from "${table}" as`));
        expect(reading('shares')).toHaveLength(1);
        expect(reading('share_files')).toHaveLength(1);
        expect(reading('media_previews')).toHaveLength(1);
        expect(reading('dropbox_connections')).toHaveLength(1);
      });
    });

    describe('password', () => {
      let token: string;
      let id: string;
      beforeAll(async () => {
        const res = await create({ tracks: [everything()], title: 'Secret album', password: 'open sesame' });
        token = tokenOf(res.body.url);
        id = res.body.id;
        expect(res.body.hasPassword).toBe(true);
      });

      it('shows a password form that gives nothing away, and file routes refuse', async () => {
        const res = await page(token);
        expect(res.status).toBe(200);
        expect(res.text).toContain('password-protected');
        expect(res.text).not.toContain('Secret album');
        expect(res.text).not.toContain('Master.wav');
        expect((await w.t.client().get(`/s/${token}/files/${sel['Master.wav'].slice(2)}/download`)).status).toBe(403);
        expect((await w.t.client().get(`/s/${token}/download-all`)).status).toBe(403);
      });

      it('a wrong password is refused; the right one sets a cookie scoped to this share only', async () => {
        const browser = w.t.client();
        const wrong = await browser.submit(`/s/${token}`, `/s/${token}`, { password: 'guess' });
        expect(wrong.status).toBe(401);
        expect(wrong.text).toContain('That password is not right');
        const right = await browser.submit(`/s/${token}`, `/s/${token}`, { password: 'open sesame' });
        expect(right.status).toBe(303);
        const cookie = (right.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('pd_share='))!;
        expect(cookie).toMatch(new RegExp(`Path=/s/${token}(;|$)`));
        expect(cookie).toMatch(/HttpOnly/);
        const open = await browser.get(`/s/${token}`);
        expect(open.status).toBe(200);
        expect(open.text).toContain('Secret album');

        // The same cookie value does not open another password-protected share.
        const another = await create({ tracks: [everything()], title: 'Other secret', password: 'open sesame' });
        const value = /pd_share=([^;]+)/.exec(cookie)![1];
        const stranger = await w.t
          .client()
          .agent.get(`/s/${tokenOf(another.body.url)}`)
          .set('Cookie', `pd_share=${value}`);
        expect(stranger.text).not.toContain('Other secret');

        // Changing the password locks out earlier unlocks.
        await api(w.producer).patch(`/api/v1/shares/${id}`, { password: 'new secret' });
        expect((await browser.get(`/s/${token}`)).text).not.toContain('Secret album');
        // Removing it opens the share to everyone with the link.
        await api(w.producer).patch(`/api/v1/shares/${id}`, { password: null });
        expect((await page(token)).text).toContain('Secret album');
      });

      it('unlocking a share in the browser a producer is signed in with leaves their dashboard forms valid', async () => {
        const res = await create({ tracks: [everything()], title: 'Other tab', password: 'tab secret' });
        const link = `/s/${tokenOf(res.body.url)}`;
        const browser = w.producer.browser;
        const dashboardToken = await browser.csrfFrom('/settings'); // a form open in another tab
        const unlocked = await browser.submit(link, link, { password: 'tab secret' });
        expect(unlocked.status).toBe(303);
        expect((await browser.get(link)).text).toContain('Other tab');
        const write = await browser.agent
          .post('/api/v1/collaborators')
          .set('X-CSRF-Token', dashboardToken)
          .send({ name: 'Other tab', email: 'other-tab@example.com', role: 'co-producer' });
        expect(write.status).toBe(201);
      });

      it('share links run without a session: nothing is read or renewed, the password form has its own CSRF cookie', async () => {
        // Opened in the browser a producer is signed in with: the session cookie is neither sent back nor renewed.
        const open = await create({ tracks: [everything()] });
        const viewed = await w.producer.browser.agent.get(`/s/${tokenOf(open.body.url)}`);
        expect(viewed.status).toBe(200);
        expect(
          ((viewed.headers['set-cookie'] as unknown as string[] | undefined) ?? []).filter((c) =>
            c.startsWith('pd.sid='),
          ),
        ).toEqual([]);
        const locked = await create({ tracks: [everything()], password: 'no session' });
        const res = await page(tokenOf(locked.body.url));
        expect(res.text).toContain('password-protected');
        const cookies = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
        expect(cookies.filter((c) => c.startsWith('pd.sid='))).toEqual([]);
        expect(cookies.find((c) => c.startsWith('pd.share-csrf='))).toMatch(/Path=\/s\/(;|$)/);
      });

      it('rate-limits attempts', async () => {
        const res = await create({ tracks: [everything()], password: 'rate limited' });
        const t2 = tokenOf(res.body.url);
        const browser = w.t.client();
        const csrf = await browser.csrfFrom(`/s/${t2}`);
        const statuses: number[] = [];
        for (let i = 0; i < 12; i += 1)
          statuses.push((await browser.submit(`/s/${t2}`, `/s/${t2}`, { password: `wrong ${i}` }, csrf)).status);
        expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
        expect(statuses.slice(10)).toEqual([429, 429]);
        // even the right password waits now
        expect((await browser.submit(`/s/${t2}`, `/s/${t2}`, { password: 'rate limited' }, csrf)).status).toBe(429);
      });
    });

    it('the page: noindex, Open Graph and Twitter tags with absolute URLs, security headers, no third-party URLs', async () => {
      const res = await create({ tracks: [everything()], title: 'Preview me', message: 'Two new mixes' });
      const token = tokenOf(res.body.url);
      const html = await page(token);
      expect(html.status).toBe(200);
      expect(html.headers['x-robots-tag']).toMatch(/noindex/);
      expect(html.text).toContain('<meta name="robots" content="noindex, nofollow">');
      expect(html.text).toContain('<meta property="og:title" content="Preview me">');
      expect(html.text).toContain('<meta property="og:description" content="Two new mixes">');
      expect(html.text).toContain(`<meta property="og:url" content="${w.t.config.http.publicUrl}/s/${token}">`);
      expect(html.text).toContain('<meta name="twitter:card"');
      expect(html.headers['content-security-policy']).toMatch(/script-src 'self'/);
      expect(html.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
      expect(html.headers['x-content-type-options']).toBe('nosniff');
      // Every URL in the page is ours (relative) or our own absolute base.
      const urls = [...html.text.matchAll(/(?:src|href|content)="(https?:[^"]+)"/g)].map((m) => m[1]);
      for (const url of urls) expect(url.startsWith(w.t.config.http.publicUrl)).toBe(true);
      expect(html.text).not.toMatch(/\son[a-z]+="/); // no inline handlers
      expect(html.text).not.toMatch(/<script(?![^>]*\ssrc=)/); // no inline scripts
      expect(html.text).not.toMatch(/\sstyle="/);
    });

    // Share with owner and tracks, its files, their previews (waveforms), the owner's Dropbox status.
    it('a page view makes no Dropbox call and at most 4 SQL queries, even uncached', async () => {
      const res = await create({ tracks: [everything()] });
      const token = tokenOf(res.body.url);
      w.emulator.control.resetCounters();
      const cold = await countQueries(w.t, () => page(token));
      expect(cold.result.status).toBe(200);
      expect(cold.queries.length).toBeLessThanOrEqual(4);
      const warm = await countQueries(w.t, () => page(token));
      expect(warm.queries.length).toBe(0);
      expect(warm.result.text).toBe(cold.result.text);
      // A phone coming back revalidates: 304, no body.
      const again = await w.t.client().agent.get(`/s/${token}`).set('If-None-Match', warm.result.headers.etag);
      expect(again.status).toBe(304);
      expect(Object.values(w.emulator.control.counters().callsByRoute).reduce((a, b) => a + b, 0)).toBe(0);
    });

    it('rate-limits page views and file requests per client address', async () => {
      const tuning = w.t.app.get(ShareTuning);
      const res = await create({ tracks: [everything()] });
      const token = tokenOf(res.body.url);
      Object.assign(tuning, { pageViewsPerMinute: 3, fileRequestsPerMinute: 2 });
      try {
        // Counted per address over every share (this spec's earlier views count too): the 4th view is over.
        const statuses = [];
        for (let i = 0; i < 4; i += 1) statuses.push((await page(token)).status);
        expect(statuses[3]).toBe(429);
        const limited = await page(token);
        expect(limited.text).toContain('Too many requests');
        expect(limited.headers['retry-after']).toBeDefined();
        const fileId = sel['Master.wav'].slice(2);
        const files = [];
        for (let i = 0; i < 3; i += 1) files.push((await w.t.client().get(`/s/${token}/artwork/${track.id}`)).status);
        expect(files[2]).toBe(429);
        const plays = [];
        for (let i = 0; i < 3; i += 1) plays.push((await w.t.client().get(`/s/${token}/files/${fileId}/play`)).status);
        expect(plays[2]).toBe(429);
      } finally {
        Object.assign(tuning, {
          pageViewsPerMinute: new ShareTuning().pageViewsPerMinute,
          fileRequestsPerMinute: new ShareTuning().fileRequestsPerMinute,
        });
      }
    });

    it('tokens carry at least 128 random bits and differ every time', async () => {
      const tokens = new Set<string>();
      for (let i = 0; i < 10; i += 1) tokens.add(tokenOf((await create({ tracks: [everything()] })).body.url));
      expect(tokens.size).toBe(10);
      for (const token of tokens) expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
    });
  });
});
