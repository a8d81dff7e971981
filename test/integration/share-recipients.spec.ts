import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { DropboxTokensService } from '../../src/modules/dropbox/dropbox-tokens.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { ShareClock } from '../../src/modules/share/share-clock';
import { ShareStatsService } from '../../src/modules/share/share-stats.service';
import { makeWav } from '../../tools/fixtures/audio';
import { deliveries, jsonApi, startReceiver } from './notifications-support';
import {
  api,
  binary,
  eventually,
  makeTrack,
  readyPreview,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from './share-support';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A link per recipient, and listens counted by the rule (≥ 30 s or half the file, once per play session). */
describe('recipient links and listens', () => {
  let w: ShareWorld;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let shareId: string;
  let shareToken: string;
  let ids: Record<string, string>;
  let stats: ShareStatsService;

  beforeAll(async () => {
    w = await startShareWorld({ workers: true, env: { WEBHOOKS_ALLOW_PRIVATE: 'true' } });
    receiver = await startReceiver([200]);
    stats = w.t.app.get(ShareStatsService);
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Night Drive', sharingStatus: 'preview' },
      {
        'Bounces/Night Drive.wav': makeWav({ seconds: 70, frequencies: [220], channels: 1, sampleRate: 8_000 }),
        'Bounces/Short.wav': makeWav({ seconds: 4, frequencies: [330], channels: 1, sampleRate: 8_000 }),
        'Stems/Bass.wav': makeWav({ seconds: 2, frequencies: [55], channels: 1, sampleRate: 8_000 }),
      },
    );
    const sel = await selectionOf(w.producer, track.id);
    const created = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: true, project: false, stem: false },
    });
    expect(created.status).toBe(201);
    shareId = created.body.id;
    shareToken = tokenOf(created.body.url);
    ids = Object.fromEntries(Object.entries(await selectionOf(w.producer, track.id)).map(([n, v]) => [n, v.slice(2)]));
    await Promise.all(Object.values(ids).map((id) => readyPreview(w.t, id)));
  });
  afterAll(async () => {
    await receiver?.close();
    await w?.close();
  });

  const recipients = (path = '') => `/api/v1/shares/${shareId}/recipients${path}`;
  const statsOf = async (rid: string) => {
    await stats.flush();
    const list = await api(w.producer).get(recipients());
    expect(list.status).toBe(200);
    return (list.body.items as Array<{ id: string; stats: Record<string, unknown> }>).find((r) => r.id === rid)!.stats;
  };

  /** A browser on a link: its own cookies, the CSRF token beacons carry. */
  async function listener(token: string) {
    const agent = request.agent(w.t.url);
    const csrf = await agent.get(`/s/${token}/listens/csrf`);
    expect(csrf.status).toBe(200);
    const beacon = (fields: Record<string, string | number>) =>
      agent
        .post(`/s/${token}/listens`)
        .type('form')
        .send({
          _csrf: csrf.body.csrfToken,
          ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])),
        });
    return { agent, beacon };
  }

  it('gives each recipient their own link: the share\u2019s contents, their name, their own stats and revoke', async () => {
    const a = await api(w.producer).post(recipients(), { name: 'Label A', email: 'a@label.test' });
    expect(a.status).toBe(201);
    expect(a.body).toEqual({
      id: expect.any(String),
      name: 'Label A',
      email: 'a@label.test',
      note: null,
      url: expect.stringMatching(/\/s\/[A-Za-z0-9_-]{24}$/),
      path: expect.stringMatching(/^\/s\/[A-Za-z0-9_-]{24}$/),
      status: 'active',
      expiresAt: null,
      revokedAt: null,
      createdAt: expect.any(String),
      stats: {
        views: 0,
        plays: 0,
        listenedSeconds: 0,
        downloads: { bounce: 0, project: 0, stem: 0 },
        lastAccessedAt: null,
      },
    });
    const shareBefore = (await api(w.producer).get(`/api/v1/shares/${shareId}`)).body.stats;
    const b = await api(w.producer).post(recipients(), { name: 'Label B' });
    expect(b.status).toBe(201);
    const tokenA = tokenOf(a.body.url);
    const tokenB = tokenOf(b.body.url);
    expect(new Set([tokenA, tokenB, shareToken]).size).toBe(3);

    // The same contents as the share, greeted by name.
    const page = await w.t.client().get(`/s/${tokenA}`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/Shared with <strong>Label A<\/strong>/);
    for (const name of ['Night Drive.wav', 'Short.wav', 'Bass.wav']) expect(page.text).toContain(name);
    expect(page.text).toContain(`/s/${tokenA}/files/${ids['Short.wav']}/download`);
    expect(page.text).not.toContain(`/files/${ids['Bass.wav']}/download`); // stems stay listen-only
    expect((await w.t.client().get(`/s/${shareToken}`)).text).not.toContain('Shared with');

    // A view and a download through A's link count for A and for the share, not for B.
    expect((await w.t.client().get(`/s/${tokenA}/files/${ids['Short.wav']}/download`)).status).toBe(302);
    expect((await w.t.client().get(`/s/${tokenA}/files/${ids['Bass.wav']}/download`)).status).toBe(403);
    const statsA = await statsOf(a.body.id);
    expect(statsA).toMatchObject({
      views: 1,
      downloads: { bounce: 1, project: 0, stem: 0 },
      lastAccessedAt: expect.any(String),
    });
    expect(await statsOf(b.body.id)).toMatchObject({
      views: 0,
      downloads: { bounce: 0, project: 0, stem: 0 },
      lastAccessedAt: null,
    });
    const shareAfter = (await api(w.producer).get(`/api/v1/shares/${shareId}`)).body.stats;
    expect(shareAfter.views).toBe(shareBefore.views + 2); // A's view and the share link's own
    expect(shareAfter.downloads.bounce).toBe(shareBefore.downloads.bounce + 1);

    // A's revoke stops A's link on every route, and only A's.
    const revoked = await api(w.producer).post(recipients(`/${a.body.id}/revoke`));
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: a.body.id, status: 'revoked', revokedAt: expect.any(String) });
    expect((await w.t.client().get(`/s/${tokenA}`)).status).toBe(410);
    expect((await w.t.client().get(`/s/${tokenA}/files/${ids['Short.wav']}/download`)).status).toBe(410);
    expect((await w.t.client().get(`/s/${tokenB}`)).status).toBe(200);
    expect((await w.t.client().get(`/s/${shareToken}`)).status).toBe(200);

    // Disabling the share stops its recipients' links too (checked on a second share, this one stays open).
    const list = await api(w.producer).get(recipients());
    expect(list.body.items.map((r: { name: string; status: string }) => [r.name, r.status])).toEqual([
      ['Label A', 'revoked'],
      ['Label B', 'active'],
    ]);
  });

  it('refuses bad input naming the field, another producer\u2019s share with 404, and changes nothing', async () => {
    const before = (await api(w.producer).get(recipients())).body.items.length;
    const noName = await api(w.producer).post(recipients(), { email: 'x@y.test' });
    expect(noName.status).toBe(400);
    expect(noName.body.errors.map((e: { field: string }) => e.field)).toContain('name');
    const badEmail = await api(w.producer).post(recipients(), { name: 'C', email: 'not an email' });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.errors.map((e: { field: string }) => e.field)).toEqual(['email']);
    const extra = await api(w.producer).post(recipients(), { name: 'C', token: 'mine' });
    expect(extra.status).toBe(400);
    expect(extra.text).toContain('token');
    const long = await api(w.producer).post(recipients(), { name: 'x'.repeat(201) });
    expect(long.status).toBe(400);
    expect((await api(w.producer).post(`/api/v1/shares/not-a-uuid/recipients`, { name: 'C' })).status).toBe(400);

    // Another producer sees nothing of this share.
    expect((await api(w.other).post(recipients(), { name: 'Spy' })).status).toBe(404);
    expect((await api(w.other).get(recipients())).status).toBe(404);
    const mine = (await api(w.producer).get(recipients())).body.items[1];
    expect((await api(w.other).post(recipients(`/${mine.id}/revoke`))).status).toBe(404);
    expect((await api(w.producer).post(recipients('/00000000-0000-4000-8000-000000000000/revoke'))).status).toBe(404);
    const after = (await api(w.producer).get(recipients())).body.items;
    expect(after).toHaveLength(before);
    expect(after[1].status).toBe('active');
  });

  it('disabling the share stops its recipients\u2019 links; a disabled share gets no new recipients (409)', async () => {
    const track = (await api(w.producer).get(`/api/v1/shares/${shareId}`)).body.tracks[0];
    const other = await api(w.producer).post('/api/v1/shares', { tracks: [{ trackId: track.id, files: track.files }] });
    const r = await api(w.producer).post(`/api/v1/shares/${other.body.id}/recipients`, { name: 'Label G' });
    const path = new URL(r.body.url).pathname;
    expect((await w.t.client().get(path)).status).toBe(200);
    expect((await api(w.producer).post(`/api/v1/shares/${other.body.id}/revoke`)).status).toBe(200);
    expect((await w.t.client().get(path)).status).toBe(410);
    const refused = await api(w.producer).post(`/api/v1/shares/${other.body.id}/recipients`, { name: 'Too late' });
    expect(refused.status).toBe(409);
    expect((await api(w.producer).get(`/api/v1/shares/${other.body.id}/recipients`)).body.items).toHaveLength(1);
  });

  it('counts a listen at 30 s or half the file, once per play session; HEAD and unfurlers never; publishes share.listened', async () => {
    const hook = await jsonApi(w.producer).post('/api/v1/webhooks', { url: receiver.url, events: ['share.listened'] });
    expect(hook.status).toBe(201);
    const c = await api(w.producer).post(recipients(), { name: 'Label C' });
    const tokenC = tokenOf(c.body.url);
    const { beacon } = await listener(tokenC);
    const long = ids['Night Drive.wav'];

    // 10 s heard of a 70 s file: a session, not a listen.
    expect((await beacon({ fileId: long, session: 'session-one', heard: 0, position: 0, duration: 70 })).status).toBe(
      204,
    );
    await sleep(1_500); // a beacon can't claim more than 16× the time since its session began
    expect((await beacon({ fileId: long, session: 'session-one', heard: 10, position: 10 })).status).toBe(204);
    expect(await statsOf(c.body.id)).toMatchObject({ plays: 0, listenedSeconds: 10 });
    // 31 s: a listen. Reported again (and a late report of less), still one.
    expect((await beacon({ fileId: long, session: 'session-one', heard: 31, position: 31 })).status).toBe(204);
    expect((await beacon({ fileId: long, session: 'session-one', heard: 31, position: 31 })).status).toBe(204);
    expect((await beacon({ fileId: long, session: 'session-one', heard: 20, position: 31 })).status).toBe(204);
    expect(await statsOf(c.body.id)).toMatchObject({ plays: 1, listenedSeconds: 31 });

    // Half of a short file is a listen too (2 s of 4 s); a second session is a second listen.
    const short = ids['Short.wav'];
    await beacon({ fileId: short, session: 'session-two', heard: 2.1, position: 2.1 });
    await beacon({ fileId: short, session: 'session-three', heard: 1, position: 1 });
    expect(await statsOf(c.body.id)).toMatchObject({ plays: 2 });

    // HEAD and a link unfurler's GET of the play route hear nothing.
    expect((await w.t.client().agent.head(`/s/${tokenC}/files/${short}/play`)).status).toBe(200);
    const unfurled = await binary(
      w.t
        .client()
        .agent.get(`/s/${tokenC}/files/${short}/play`)
        .set('User-Agent', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'),
    );
    expect(unfurled.status).toBe(200);
    expect((await w.t.client().agent.get(`/s/${tokenC}`).set('User-Agent', 'facebookexternalhit/1.1')).status).toBe(
      200,
    );
    expect(await statsOf(c.body.id)).toMatchObject({ plays: 2, views: 0 });

    // Per file: sessions, listens, seconds, average share and where sessions stopped (by tenth).
    const listens = await api(w.producer).get(`/api/v1/shares/${shareId}/listens`);
    expect(listens.status).toBe(200);
    const longStats = listens.body.files.find((f: { fileId: string }) => f.fileId === long);
    expect(longStats).toMatchObject({ sessions: 1, plays: 1, listenedSeconds: 31 });
    expect(longStats.averageShare).toBeCloseTo(31 / 70, 2);
    expect(longStats.stops).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]); // 31 s of 70 s: the fifth tenth
    const trackStats = listens.body.tracks.find((t: { title: string }) => t.title === 'Night Drive');
    expect(trackStats).toMatchObject({ sessions: 3, plays: 2 }); // the long bounce's session and the short one's two
    const byC = listens.body.recipients.find((r: { id: string }) => r.id === c.body.id);
    expect(byC).toMatchObject({ name: 'Label C', plays: 2 });

    // Each counted listen reached the producer's webhook once, naming the recipient and the file.
    await eventually(
      () => deliveries(w.t, hook.body.id),
      (rows) => rows.length >= 2,
    );
    const listened = receiver.received.filter((r) => r.body.type === 'share.listened').map((r) => r.body.data);
    expect(listened).toHaveLength(2);
    expect(listened[0]).toMatchObject({
      shareId,
      recipient: { id: c.body.id, name: 'Label C' },
      fileId: long,
      trackId: expect.any(String),
      listenedSeconds: 31,
    });
  });

  it('a recipient link may expire before the share: 410 "expired" for them, the share goes on', async () => {
    const soon = await api(w.producer).post(recipients(), { name: 'Short-lived', expiry: '7d' });
    expect(soon.status).toBe(201);
    expect(soon.body.expiresAt).not.toBeNull();
    const path = new URL(soon.body.url).pathname;
    expect((await w.t.client().get(path)).status).toBe(200);
    const clock = jest.spyOn(w.t.app.get(ShareClock), 'now').mockReturnValue(new Date(Date.now() + 8 * 24 * 3600_000));
    try {
      const gone = await w.t.client().get(path).set('Accept', 'application/json');
      expect(gone.status).toBe(410);
      expect(gone.text).toContain('expired');
      expect((await w.t.client().get(`/s/${shareToken}`)).status).toBe(200);
      expect(
        (await api(w.producer).get(recipients())).body.items.find((r: { id: string }) => r.id === soon.body.id).status,
      ).toBe('expired');
    } finally {
      clock.mockRestore();
    }
  });

  it('the share page adds several recipients at once (one "Name <email>" per line), all or none, and disables one', async () => {
    const page = `/shares/${shareId}`;
    const count = async () => (await api(w.producer).get(recipients())).body.items.length as number;
    const before = await count();
    // One bad line: nothing is added, the lines come back with the line named.
    const refused = await w.producer.browser.submit(page, `${page}/recipients`, {
      recipients: 'Mix Engineer <mix@studio.test>\nLabel F <not-an-email>',
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('line 2');
    expect(refused.text).toContain('email must be an email address');
    expect(refused.text).toContain('Mix Engineer &lt;mix@studio.test&gt;');
    expect(await count()).toBe(before);
    const empty = await w.producer.browser.submit(page, `${page}/recipients`, { recipients: '  \n ' });
    expect(empty.status).toBe(400);
    expect(await count()).toBe(before);

    const added = await w.producer.browser.submit(page, `${page}/recipients`, {
      recipients: 'Mix Engineer <mix@studio.test>\n\n"A&R, Label F" <ar@label-f.test>\nPublisher',
    });
    expect(added.status).toBe(303);
    const items = (await api(w.producer).get(recipients())).body.items.slice(before) as Array<{
      id: string;
      name: string;
      email: string | null;
      url: string;
    }>;
    expect(items.map((r) => [r.name, r.email])).toEqual([
      ['Mix Engineer', 'mix@studio.test'],
      ['A&R, Label F', 'ar@label-f.test'],
      ['Publisher', null],
    ]);
    // Each with its link to copy, on the page.
    const shown = (await w.producer.browser.get(page)).text;
    for (const r of items) expect(shown).toContain(`data-copy="#recipient-url-${r.id}"`);
    for (const r of items) expect(shown).toContain(r.url);

    // Disabling one asks first, then stops that link only.
    const target = items[2];
    const ask = await w.producer.browser.submit(page, `${page}/recipients/${target.id}/revoke`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Disable Publisher\u2019s link?');
    expect((await w.t.client().get(new URL(target.url).pathname)).status).toBe(200);
    const done = await w.producer.browser.submit(page, `${page}/recipients/${target.id}/revoke`, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect((await w.t.client().get(new URL(target.url).pathname)).status).toBe(410);
    expect((await w.t.client().get(new URL(items[0].url).pathname)).status).toBe(200);
    // Their links may expire before the share: one choice for the links made together; a bad one names the field.
    const badExpiry = await w.producer.browser.submit(page, `${page}/recipients`, {
      recipients: 'Radio',
      expiry: '3d',
    });
    expect(badExpiry.status).toBe(400);
    expect(badExpiry.text).toContain('expiry must be one of');
    expect(await count()).toBe(before + 3);
    const soon = await w.producer.browser.submit(page, `${page}/recipients`, {
      recipients: 'Radio\nBlog',
      expiry: '7d',
    });
    expect(soon.status).toBe(303);
    const expiring = (await api(w.producer).get(recipients())).body.items.slice(before + 3) as Array<{
      name: string;
      expiresAt: string | null;
    }>;
    expect(expiring.map((r) => r.name)).toEqual(['Radio', 'Blog']);
    for (const r of expiring) {
      const days = (Date.parse(r.expiresAt ?? '') - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(6.9);
      expect(days).toBeLessThanOrEqual(7);
    }
    expect((await w.producer.browser.get(page)).text).toContain('<option value="7d">7 days from now</option>');
    // Someone else's share: 404, nothing added.
    const intruder = await w.other.browser.submit('/settings', `${page}/recipients`, { recipients: 'Spy' });
    expect(intruder.status).toBe(404);
    expect(await count()).toBe(before + 5);
  });

  it('a recipient\u2019s first open of their link reaches the producer once, as share.opened naming them', async () => {
    const hook = await jsonApi(w.producer).post('/api/v1/webhooks', { url: receiver.url, events: ['share.opened'] });
    expect(hook.status).toBe(201);
    const j = await api(w.producer).post(recipients(), { name: 'Label J' });
    const path = new URL(j.body.url).pathname;
    expect((await w.t.client().get(path)).status).toBe(200);
    await stats.flush();
    expect((await w.t.client().get(path)).status).toBe(200);
    await stats.flush();
    // (Earlier tests' recipients, opened but not flushed until now, are announced too: only J's are looked at.)
    const ofJ = () =>
      receiver.received.filter(
        (r) => r.body.type === 'share.opened' && (r.body.data.recipient as { id?: string } | null)?.id === j.body.id,
      );
    await eventually(
      async () => ofJ().length,
      (n) => n >= 1,
    );
    expect(ofJ().map((r) => r.body.data)).toEqual([
      { shareId, title: expect.any(String), recipient: { id: j.body.id, name: 'Label J' } },
    ]);
    expect(receiver.received.filter((r) => r.body.type === 'share.opened' && !r.body.data.recipient)).toEqual([]); // the share was opened long ago
  });

  it('refuses beacons without the CSRF token, with bad fields, for files of no share of theirs', async () => {
    const { agent, beacon } = await listener(shareToken);
    const plain = await agent
      .post(`/s/${shareToken}/listens`)
      .type('form')
      .send({ fileId: ids['Short.wav'], session: 'no-csrf-1', heard: '3', position: '3' });
    expect(plain.status).toBe(403);
    const bad = await beacon({ fileId: ids['Short.wav'], session: 'x', heard: 'lots', position: 1 });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/session/);
    expect(bad.text).toMatch(/heard/);
    expect(
      (await beacon({ fileId: '00000000-0000-4000-8000-000000000000', session: 'unknown-file', heard: 3, position: 3 }))
        .status,
    ).toBe(404);
    const before = (await api(w.producer).get(`/api/v1/shares/${shareId}/listens`)).body.files.find(
      (f: { fileId: string }) => f.fileId === ids['Short.wav'],
    );
    await stats.flush();
    const after = (await api(w.producer).get(`/api/v1/shares/${shareId}/listens`)).body.files.find(
      (f: { fileId: string }) => f.fileId === ids['Short.wav'],
    );
    expect(after).toEqual(before);
  });

  it('without JavaScript, estimates the listen from the Range requests of the play route', async () => {
    const d = await api(w.producer).post(recipients(), { name: 'Label D' });
    const tokenD = tokenOf(d.body.url);
    const browser = w.t.client();
    const long = ids['Night Drive.wav'];
    // The native player asks for the first bytes only, then a little more: under 30 s of 70 s.
    const first = await binary(browser.agent.get(`/s/${tokenD}/files/${long}/play`).set('Range', 'bytes=0-1023'));
    expect(first.status).toBe(206);
    const total = Number(/\/(\d+)$/.exec(first.headers['content-range'])![1]);
    await binary(
      browser.agent.get(`/s/${tokenD}/files/${long}/play`).set('Range', `bytes=1024-${Math.floor(total * 0.3)}`),
    );
    expect(await statsOf(d.body.id)).toMatchObject({ plays: 0 });
    // Then on to 60 % of the file: a listen (42 s heard, estimated). The rest of the file is the same session.
    await binary(
      browser.agent
        .get(`/s/${tokenD}/files/${long}/play`)
        .set('Range', `bytes=${Math.floor(total * 0.3)}-${Math.floor(total * 0.6)}`),
    );
    await binary(
      browser.agent.get(`/s/${tokenD}/files/${long}/play`).set('Range', `bytes=${Math.floor(total * 0.6)}-`),
    );
    const estimated = await statsOf(d.body.id);
    expect(estimated.plays).toBe(1);
    expect(estimated.listenedSeconds).toBeGreaterThan(65);
    // The player's own requests (the page's script reports with beacons instead) are not estimated.
    const e = await api(w.producer).post(recipients(), { name: 'Label E' });
    const tokenE = tokenOf(e.body.url);
    await binary(w.t.client().agent.get(`/s/${tokenE}/files/${long}/play?via=player`));
    expect(await statsOf(e.body.id)).toMatchObject({ plays: 0, listenedSeconds: 0 });
  });

  it('a flush that PostgreSQL refuses loses no listen: the counts go back to Redis and arrive once with the next', async () => {
    const h = await api(w.producer).post(recipients(), { name: 'Label H' });
    const { beacon } = await listener(tokenOf(h.body.url));
    const short = ids['Short.wav'];
    await stats.flush();
    const row = () =>
      w.t.app
        .get(EntityManager)
        .getConnection()
        .execute<Array<{ plays: string; listened_seconds: number }>>(
          'select plays, listened_seconds from share_listens where recipient_id = ? and file_id = ?',
          [h.body.id, short],
        );
    expect(await row()).toEqual([]);
    await beacon({ fileId: short, session: 'refused-flush', heard: 3, position: 3 });
    // Another listen row in the same flush: the one the refused flush never got to must not be forgotten either.
    const i = await api(w.producer).post(recipients(), { name: 'Label I' });
    await (
      await listener(tokenOf(i.body.url))
    ).beacon({ fileId: short, session: 'refused-flush-2', heard: 2.5, position: 2.5 });
    const connection = w.t.app.get(EntityManager).getConnection();
    // PostgreSQL refuses every new listen row for a moment (a real refusal, not a mock).
    await connection.execute(`alter table share_listens add constraint refuse_all check (sessions < 0) not valid`);
    try {
      await expect(stats.flush()).rejects.toThrow(/refuse_all/);
    } finally {
      await connection.execute(`alter table share_listens drop constraint refuse_all`);
    }
    expect(await row()).toEqual([]);
    await stats.flush();
    const [stored] = await row();
    expect(Number(stored.plays)).toBe(1);
    expect(stored.listened_seconds).toBeCloseTo(3, 5);
    await stats.flush();
    expect(Number((await row())[0].plays)).toBe(1);
    expect(await statsOf(h.body.id)).toMatchObject({ plays: 1, listenedSeconds: 3 });
    expect(await statsOf(i.body.id)).toMatchObject({ plays: 1, listenedSeconds: 2.5 });
    const [second] = await w.t.app
      .get(EntityManager)
      .getConnection()
      .execute<Array<{ plays: string }>>('select plays from share_listens where recipient_id = ? and file_id = ?', [
        i.body.id,
        short,
      ]);
    expect(Number(second.plays)).toBe(1);
  });

  // Last: it leaves the rendered pages saying "paused" until they are next rebuilt.
  it('a recipient\u2019s rendered page follows the share at once (the producer\u2019s Dropbox connection expiring)', async () => {
    const f = await api(w.producer).post(recipients(), { name: 'Label F' });
    const path = new URL(f.body.url).pathname;
    expect((await w.t.client().get(path)).text).not.toMatch(/downloads are paused/i); // rendered and cached
    const em = w.t.app.get(EntityManager).fork();
    const connection = await em.findOneOrFail(DropboxConnection, { user: w.producer.id });
    await w.t.app.get(DropboxTokensService).markExpired(connection.id, 'invalid_grant');
    try {
      const page = await w.t.client().get(path);
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/downloads are paused/i);
      expect(page.text).toContain('Shared with <strong>Label F</strong>');
    } finally {
      await em.nativeUpdate(DropboxConnection, { user: w.producer.id }, { status: 'active', statusReason: null });
    }
  });
});
