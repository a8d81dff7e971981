import { EntityManager } from '@mikro-orm/postgresql';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import sharp from 'sharp';
import { QueueName, ShareJob } from '../../src/queues/queues';
import { DropboxTokensService } from '../../src/modules/dropbox/dropbox-tokens.service';
import { DropboxConnection } from '../../src/modules/dropbox/entities/dropbox-connection.entity';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { Share } from '../../src/modules/share/entities/share.entity';
import { ShareStatsService } from '../../src/modules/share/share-stats.service';
import { ShareTuning } from '../../src/modules/share/share-tuning';
import { makeWav } from '../../tools/fixtures/audio';
import {
  api,
  binary,
  eventually,
  readyPreview as preview,
  fetchBytes,
  makeTrack,
  MadeTrack,
  readZip,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from './share-support';

describe('share links: files served live, by permission', () => {
  let w: ShareWorld;
  let track: MadeTrack;
  let share: { id: string; url: string };
  let token: string;
  /** TrackFile id by file name. */
  let ids: Record<string, string>;

  beforeAll(async () => {
    // Workers on: the stats flush is scheduled by the share processor (and audio analysis runs as in production).
    w = await startShareWorld({ workers: true });
    track = await makeTrack(w.producer, w.dbx, {
      title: 'Night Bus',
      sharingStatus: 'preview',
      bpm: 96,
      key: 'A minor',
      artist: 'Ben',
    });
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
    });
    expect(res.status).toBe(201);
    share = res.body;
    token = tokenOf(share.url);
    ids = Object.fromEntries(
      Object.entries(await selectionOf(w.producer, track.id)).map(([name, value]) => [name, value.slice(2)]),
    );
    const png = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#224488' } })
      .png()
      .toBuffer();
    const csrf = await w.producer.browser.csrfFrom('/settings');
    await w.producer.browser.agent
      .put(`/api/v1/tracks/${track.id}/artwork`)
      .set('X-CSRF-Token', csrf)
      .set('Content-Type', 'image/png')
      .send(png);
    await api(w.producer).post(`/api/v1/tracks/${track.id}/files/${ids['Master.wav']}/master`);
  });
  afterAll(async () => w?.close());

  const recipient = () => w.t.client();
  const setDownloads = async (downloads: Record<string, boolean>) =>
    expect((await api(w.producer).patch(`/api/v1/shares/${share.id}`, { downloads })).status).toBe(200);
  const file = (name: string, action: 'play' | 'download') => `/s/${token}/files/${ids[name]}/${action}`;
  const linkCalls = () => w.emulator.control.counters().callsByRoute['files/get_temporary_link'] ?? 0;
  const readyPreview = (fileId: string, revision?: string) => preview(w.t, fileId, revision);

  it('renders the playlist: studio, track facts, artwork, groups, player on the master, buttons per permission', async () => {
    const res = await recipient().get(`/s/${token}`);
    expect(res.status).toBe(200);
    const html = res.text;
    for (const text of [
      'Night Bus',
      'Ben',
      '96 BPM',
      'A minor',
      'Bounces',
      'Projects',
      'Stems',
      'Song.logicx',
      'Logic Pro project',
      'Ableton Live set',
    ]) {
      expect(html).toContain(text);
    }
    expect(html).toMatch(
      new RegExp(
        `<audio class="share-player" controls controlslist="nodownload" preload="none" src="/s/${token}/files/${ids['Master.wav']}/play"`,
      ),
    );
    const decoded = html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
    expect(decoded).toContain(`src="/s/${token}/artwork/${track.id}?size=small&v=1"`);
    expect(decoded).toContain(
      `<meta property="og:image" content="${w.t.config.http.publicUrl}/s/${token}/artwork/${track.id}?size=large&v=1">`,
    );
    // preview: bounces downloadable; stems playable one by one, not downloadable; projects listed only
    expect(html).toContain(`href="${file('Master.wav', 'download')}"`);
    expect(html).toContain(`href="${file('Alt mix.wav', 'download')}"`);
    expect(html).not.toContain(file('Drums.wav', 'download'));
    expect(html).toContain(`src="${file('Drums.wav', 'play')}"`);
    expect(html).toContain(`src="${file('Bass.wav', 'play')}"`);
    expect(html).not.toContain(file('Session.als', 'download'));
    expect(html).toContain('Listed only');
    expect(html).toContain(`href="/s/${token}/download-all"`);
    // no Dropbox link anywhere in the page
    expect(html).not.toContain(w.emulator.url);
  });

  it('serves artwork only of tracks in this share', async () => {
    const art = await binary(recipient().get(`/s/${token}/artwork/${track.id}?size=small`));
    expect(art.status).toBe(200);
    expect(art.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(art.body as Buffer).metadata()).width).toBeLessThanOrEqual(300);
    const otherTrack = await makeTrack(w.producer, w.dbx, { title: 'Not shared' }, {});
    expect((await recipient().get(`/s/${token}/artwork/${otherTrack.id}`)).status).toBe(404);
    expect((await recipient().get(`/s/${token}/artwork/not-a-uuid`)).status).toBe(404);
  });

  describe.each([
    ['bounce', 'Master.wav', 'Bounces/Master.wav'],
    ['project', 'Session.als', 'Projects/Session.als'],
    ['stem', 'Drums.wav', 'Stems/Drums.wav'],
  ] as const)('%s downloads', (category, name, path) => {
    it('enabled: redirects to a temporary link that serves the same bytes', async () => {
      await setDownloads({ bounce: false, project: false, stem: false, [category]: true });
      const res = await recipient().get(file(name, 'download'));
      expect(res.status).toBe(302);
      expect(res.headers['cache-control']).toMatch(/no-store/);
      const bytes = await fetchBytes(res.headers.location);
      expect(bytes.body.equals(track.bytes[path])).toBe(true);
      expect((await recipient().get(`/s/${token}`)).text).toContain(`href="${file(name, 'download')}"`);
    });

    it('disabled: 403, and no download button', async () => {
      await setDownloads({ bounce: true, project: true, stem: true, [category]: false });
      const res = await recipient().get(file(name, 'download'));
      expect(res.status).toBe(403);
      expect(res.text).toContain('not enabled');
      expect(res.headers.location).toBeUndefined();
      expect((await recipient().get(`/s/${token}`)).text).not.toContain(`href="${file(name, 'download')}"`);
    });
  });

  it('a Logic package downloads as a ZIP of its folder, streamed', async () => {
    await setDownloads({ project: true });
    const res = await binary(recipient().get(file('Song.logicx', 'download')));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toContain('Song.logicx.zip');
    expect(res.headers['content-length']).toBeUndefined();
    const zip = readZip(res.body as Buffer);
    expect(Object.keys(zip).sort()).toEqual([
      'Song.logicx/Alternatives/000/ProjectData',
      'Song.logicx/Resources/Info.plist',
    ]);
    expect(
      zip['Song.logicx/Alternatives/000/ProjectData'].equals(
        track.bytes['Projects/Song.logicx/Alternatives/000/ProjectData'],
      ),
    ).toBe(true);
  });

  it('download all: a streamed ZIP of the permitted files only', async () => {
    await setDownloads({ bounce: true, project: false, stem: true });
    const res = await binary(recipient().get(`/s/${token}/download-all`));
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const zip = readZip(res.body as Buffer);
    expect(Object.keys(zip).sort()).toEqual([
      'Night Bus/Bounces/Alt mix.wav',
      'Night Bus/Bounces/Master.wav',
      'Night Bus/Stems/Bass.wav',
      'Night Bus/Stems/Drums.wav',
    ]);
    expect(zip['Night Bus/Stems/Bass.wav'].equals(track.bytes['Stems/Bass.wav'])).toBe(true);
    await setDownloads({ bounce: false, project: false, stem: false });
    expect((await recipient().get(`/s/${token}/download-all`)).status).toBe(403);
    expect((await recipient().get(`/s/${token}`)).text).not.toContain('download-all');
  });

  describe('listening where downloads are disabled', () => {
    beforeAll(() => setDownloads({ bounce: true, project: false, stem: false }));

    it("streams the preview through the server with Range: 206 and the preview's bytes, no Dropbox link, never the original", async () => {
      const source = track.bytes['Stems/Drums.wav'];
      const preview = await readyPreview(ids['Drums.wav']);
      const whole = await binary(recipient().get(file('Drums.wav', 'play')));
      expect(whole.status).toBe(200);
      expect(whole.headers['content-type']).toBe('audio/mp4');
      expect(whole.headers.location).toBeUndefined();
      expect(JSON.stringify(whole.headers)).not.toContain('/_tl/');
      const bytes = whole.body as Buffer;
      expect(bytes.length).toBe(preview.size);
      expect(bytes.equals(source)).toBe(false);
      const part = await binary(recipient().get(file('Drums.wav', 'play')).set('Range', 'bytes=100-1099'));
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 100-1099/${bytes.length}`);
      expect(part.headers['accept-ranges']).toBe('bytes');
      expect((part.body as Buffer).equals(bytes.subarray(100, 1100))).toBe(true);
      expect(
        (
          await recipient()
            .get(file('Drums.wav', 'play'))
            .set('Range', `bytes=${bytes.length + 10}-`)
        ).status,
      ).toBe(416);
    });

    it('downloadable audio streams its preview too, or the original from its temporary link when the share says so', async () => {
      await readyPreview(ids['Master.wav']);
      const preview = await recipient().get(file('Master.wav', 'play'));
      expect(preview.status).toBe(200);
      expect(preview.headers['content-type']).toBe('audio/mp4');
      expect((await api(w.producer).patch(`/api/v1/shares/${share.id}`, { streamOriginals: true })).status).toBe(200);
      try {
        const res = await recipient().get(file('Master.wav', 'play'));
        expect(res.status).toBe(302);
        expect(res.headers.location.startsWith(w.emulator.url)).toBe(true);
        // Listen-only categories never do.
        expect((await recipient().get(file('Drums.wav', 'play'))).headers['content-type']).toBe('audio/mp4');
      } finally {
        await api(w.producer).patch(`/api/v1/shares/${share.id}`, { streamOriginals: false });
      }
    });

    it('projects cannot be played', async () => {
      expect((await recipient().get(file('Session.als', 'play'))).status).toBe(404);
    });
  });

  it('no enumeration: a file of another share, or any unknown id, is 404', async () => {
    const theirs = await makeTrack(
      w.other,
      w.otherDbx,
      { title: 'Elsewhere', sharingStatus: 'collaborative' },
      { 'Bounces/Else.wav': makeWav({ seconds: 1 }) },
    );
    const theirSel = await selectionOf(w.other, theirs.id);
    const theirShare = await api(w.other).post('/api/v1/shares', {
      tracks: [{ trackId: theirs.id, files: Object.values(theirSel) }],
    });
    const theirFile = Object.values(await selectionOf(w.other, theirs.id))[0].slice(2);
    // their file through our token, and our file through their token
    expect((await recipient().get(`/s/${token}/files/${theirFile}/download`)).status).toBe(404);
    expect((await recipient().get(`/s/${token}/files/${theirFile}/play`)).status).toBe(404);
    expect(
      (await recipient().get(`/s/${tokenOf(theirShare.body.url)}/files/${ids['Master.wav']}/download`)).status,
    ).toBe(404);
    expect((await recipient().get(`/s/${token}/files/00000000-0000-4000-8000-000000000000/download`)).status).toBe(404);
    expect((await recipient().get(`/s/${token}/files/..%2F..%2Fetc/download`)).status).toBe(404);
    // 36 characters of [0-9a-f-] that are not a UUID: the id check is the strict one, so PostgreSQL never sees it.
    expect((await recipient().get(`/s/${token}/files/${'-'.repeat(36)}/download`)).status).toBe(404);
    expect((await recipient().get(`/s/${token}/files/${'a'.repeat(36)}/play`)).status).toBe(404);
    // The same shape as a selection item is a 400 naming the field, not a database error.
    const loose = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${'-'.repeat(36)}`] }],
    });
    expect(loose.status).toBe(400);
    expect(JSON.stringify(loose.body)).toContain('files');
    // one of our own files that is not in this share
    const unshared = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: [`f:${ids['Master.wav']}`] }],
    });
    expect((await recipient().get(`/s/${tokenOf(unshared.body.url)}/files/${ids['Drums.wav']}/play`)).status).toBe(404);
  });

  it('is live: a new revision in Dropbox is what plays and downloads next', async () => {
    await setDownloads({ bounce: true, stem: false });
    w.t.app.get(ShareTuning).revisionCheckMs = 0;
    try {
      const before = await fetchBytes((await recipient().get(file('Master.wav', 'download'))).headers.location);
      expect(before.body.equals(track.bytes['Bounces/Master.wav'])).toBe(true);
      const newMix = makeWav({ seconds: 1, frequencies: [440, 660], channels: 1, sampleRate: 22_050 });
      const uploaded = await w.dbx.filesUpload({
        path: `${track.folder}/Bounces/Master.wav`,
        contents: newMix,
        mode: { '.tag': 'overwrite' },
      });
      const after = await fetchBytes((await recipient().get(file('Master.wav', 'download'))).headers.location);
      expect(after.body.equals(newMix)).toBe(true);
      // the relayed stream follows too: the new revision's preview, once built (never the original meanwhile)
      const newStem = makeWav({ seconds: 1, frequencies: [97], channels: 1, sampleRate: 22_050 });
      const stemUpload = await w.dbx.filesUpload({
        path: `${track.folder}/Stems/Drums.wav`,
        contents: newStem,
        mode: { '.tag': 'overwrite' },
      });
      const meanwhile = await binary(recipient().get(file('Drums.wav', 'play')));
      expect([200, 503]).toContain(meanwhile.status);
      expect((meanwhile.body as Buffer).equals(newStem)).toBe(false);
      const newPreview = await readyPreview(ids['Drums.wav'], stemUpload.result.content_hash);
      const relayed = await binary(recipient().get(file('Drums.wav', 'play')));
      expect((relayed.body as Buffer).length).toBe(newPreview.size);
      // the row learned the new revision and size, and the page shows it
      const row = await w.t.app.get(EntityManager).fork().findOneOrFail(TrackFile, { id: ids['Master.wav'] });
      expect(row.rev).toBe(uploaded.result.rev);
      expect(row.size).toBe(newMix.length);
      track.bytes['Bounces/Master.wav'] = newMix;
      track.bytes['Stems/Drums.wav'] = newStem;
    } finally {
      w.t.app.get(ShareTuning).revisionCheckMs = new ShareTuning().revisionCheckMs;
    }
  });

  it('asks Dropbox for a link once per file revision, however many plays', async () => {
    await setDownloads({ bounce: true, stem: false });
    w.emulator.control.resetCounters();
    await readyPreview(ids['Master.wav']);
    await readyPreview(ids['Bass.wav']);
    w.emulator.control.resetCounters();
    for (let i = 0; i < 20; i += 1) {
      expect((await recipient().get(file('Master.wav', 'play'))).status).toBe(200);
      expect((await binary(recipient().get(file('Bass.wav', 'play')).set('Range', 'bytes=0-99'))).status).toBe(206);
    }
    const calls = w.emulator.control.counters().callsByRoute;
    expect(linkCalls()).toBeLessThanOrEqual(2);
    expect(calls['files/get_metadata'] ?? 0).toBeLessThanOrEqual(2);
  });

  it('a file deleted in Dropbox is shown as unavailable, not as an error page', async () => {
    w.t.app.get(ShareTuning).revisionCheckMs = 0;
    try {
      await w.dbx.filesDeleteV2({ path: `${track.folder}/Stems/Bass.wav` });
      const res = await recipient().get(file('Bass.wav', 'play'));
      expect(res.status).toBe(404);
      expect(res.text).toContain('no longer available');
      expect(res.text).toContain(`href="/s/${token}"`);
      const html = (await recipient().get(`/s/${token}`)).text;
      expect(html).toMatch(/is-unavailable[\s\S]*?Bass\.wav[\s\S]*?Unavailable/);
      expect(html).not.toContain(`src="${file('Bass.wav', 'play')}"`);
      // the rest still works
      expect((await recipient().get(file('Master.wav', 'play'))).status).toBe(200);
    } finally {
      w.t.app.get(ShareTuning).revisionCheckMs = new ShareTuning().revisionCheckMs;
    }
  });

  it('counts views, plays and downloads per category without writing per request, then flushes them', async () => {
    const em = w.t.app.get(EntityManager).fork();
    const stats = w.t.app.get(ShareStatsService);
    await stats.flush();
    const base = await em.findOneOrFail(Share, { id: share.id });
    const start = { views: base.views, plays: base.plays, bounce: base.downloadsBounce };
    await setDownloads({ bounce: true, project: false, stem: false });
    await readyPreview(ids['Drums.wav']);
    await recipient().get(`/s/${token}`);
    await recipient().get(`/s/${token}`);
    // A browser of its own: the earlier tests' plays of these files (same address, same agent) were one session.
    const agent = 'share-files counting browser';
    await recipient().get(file('Master.wav', 'play')).set('User-Agent', agent);
    // a player's follow-up range requests are the same play
    await binary(recipient().get(file('Drums.wav', 'play')).set('Range', 'bytes=0-').set('User-Agent', agent));
    await binary(recipient().get(file('Drums.wav', 'play')).set('Range', 'bytes=500-').set('User-Agent', agent));
    await recipient().get(file('Alt mix.wav', 'download'));
    // Plays are listens (#14): without the page's script, estimated once the relayed bytes have gone out — whole
    // one- and two-second files, so each is a listen; the second Range request is the same play session.
    const view = (
      await eventually(
        () => api(w.producer).get(`/api/v1/shares/${share.id}`),
        (res) => res.body.stats.plays >= start.plays + 2,
      )
    ).body;
    expect(view.stats).toMatchObject({
      views: start.views + 2,
      plays: start.plays + 2,
      downloads: { bounce: start.bounce + 1 },
    });
    expect(view.stats.lastAccessedAt).not.toBeNull();
    const untouched = await em.fork().findOneOrFail(Share, { id: share.id });
    expect(untouched.views).toBe(start.views);
    await stats.flush();
    const flushed = await em.fork().findOneOrFail(Share, { id: share.id });
    expect({ views: flushed.views, plays: flushed.plays, bounce: flushed.downloadsBounce }).toEqual({
      views: start.views + 2,
      plays: start.plays + 2,
      bounce: start.bounce + 1,
    });
    expect(flushed.lastAccessedAt).not.toBeNull();
    expect((await api(w.producer).get(`/api/v1/shares/${share.id}`)).body.stats.views).toBe(start.views + 2);
  });

  it('schedules the counters flush once, as a BullMQ job scheduler', async () => {
    const queue = w.t.app.get<Queue>(getQueueToken(QueueName.Share));
    const scheduler = await queue.getJobScheduler('share-stats-flush');
    expect(scheduler).toMatchObject({ name: ShareJob.FlushStats, every: new ShareTuning().statsFlushMs });
  });

  it('when the Dropbox connection has expired the page still lists and says downloads are paused', async () => {
    const em = w.t.app.get(EntityManager).fork();
    const connection = await em.findOneOrFail(DropboxConnection, { user: w.producer.id });
    // As when Dropbox refuses the refresh token: the pages rendered before drop at once.
    await w.t.app.get(DropboxTokensService).markExpired(connection.id, 'invalid_grant');
    try {
      const res = await recipient().get(`/s/${token}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain('Night Bus');
      expect(res.text).toContain('Master.wav');
      expect(res.text).toMatch(/downloads are paused/i);
      expect(res.text).not.toContain(file('Master.wav', 'download'));
      expect(res.text).not.toContain('<audio');
      const dl = await recipient().get(file('Master.wav', 'download'));
      expect(dl.status).toBe(503);
      expect(dl.text).toMatch(/paused/);
    } finally {
      await em.nativeUpdate(DropboxConnection, { user: w.producer.id }, { status: 'active', statusReason: null });
    }
  });
});
