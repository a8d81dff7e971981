import { createHash } from 'node:crypto';
import { makeWav } from '../../tools/fixtures/audio';
import { PreviewsService } from '../../src/modules/media/previews.service';
import { api, binary, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from './share-support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Listen-only audio before its preview exists: while it is being built (no worker has got to it), and on a server
 * without ffmpeg. Either way the play route answers "not yet", never with the original.
 */
describe.each([
  ['while the preview is pending', {}],
  ['on a server without ffmpeg', { FFMPEG_PATH: '/nonexistent/ffmpeg' }],
] as const)('listen-only audio %s', (situation, env) => {
  let w: ShareWorld;
  let token: string;
  let fileId: string;
  let trackId: string;
  const master = makeWav({ seconds: 2, frequencies: [300], channels: 2, sampleRate: 44_100 });

  beforeAll(async () => {
    // Workers off: nothing builds the preview, so it stays pending for the whole spec.
    w = await startShareWorld({ workers: false, env });
    const track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Not Yet', sharingStatus: 'private' },
      { 'Bounces/Master.wav': master },
    );
    trackId = track.id;
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
    });
    expect(res.status).toBe(201);
    token = tokenOf(res.body.url);
    fileId = Object.values(await selectionOf(w.producer, track.id))[0].slice(2);
  });
  afterAll(async () => w?.close());

  const play = () => `/s/${token}/files/${fileId}/play`;
  const ffmpegMissing = situation === 'on a server without ffmpeg';

  it('the server is up and knows whether it can build previews', () => {
    expect(w.t.app.get(PreviewsService).ffmpegMissing).toBe(ffmpegMissing);
  });

  it.each([
    ['without Range', {}],
    ['with Range', { Range: 'bytes=0-' }],
    ['with a Range in the middle', { Range: 'bytes=1000-1999' }],
  ])('GET %s: 503 with Retry-After and a message, never the original', async (_how, headers) => {
    const res = await binary(w.t.client().get(play()).set(headers));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['content-type']).not.toMatch(/audio/);
    const body = res.body as Buffer;
    expect(sha(body)).not.toBe(sha(master));
    expect(body.includes(master.subarray(100, 1100))).toBe(false);
    expect(body.toString()).toMatch(ffmpegMissing ? /ffmpeg is not installed/ : /Preparing the preview/);
  });

  it('HEAD: 503 too, and JSON says why for the player', async () => {
    expect((await w.t.client().agent.head(play())).status).toBe(503);
    const json = await w.t.client().get(play()).set('Accept', 'application/json');
    expect(json.status).toBe(503);
    expect(json.body.message).toMatch(ffmpegMissing ? /ffmpeg is not installed/ : /Preparing the preview/);
  });

  it('the page shows the waveform-less player and says the preview is coming; the producer is told about ffmpeg', async () => {
    const page = await w.t.client().get(`/s/${token}`);
    expect(page.text).toContain('Preparing the preview');
    expect(page.text).not.toContain('class="wave"');
    const shareTab = await w.producer.browser.get(`/tracks/${trackId}/share`);
    const listen = await w.producer.browser.get(`/tracks/${trackId}/listen`);
    expect(listen.status).toBe(200);
    expect(listen.text).toContain('Preview pending');
    if (ffmpegMissing) {
      expect(shareTab.text).toContain('ffmpeg is not installed on this server');
      expect(listen.text).toContain('ffmpeg is not installed on this server');
    } else {
      expect(shareTab.text).not.toContain('ffmpeg is not installed');
    }
  });

  it('the producer still hears the original on the Listen tab', async () => {
    const res = await w.producer.browser.get(`/tracks/${trackId}/files/${fileId}/play`);
    expect(res.status).toBe(302);
    const original = Buffer.from(await (await fetch(res.headers.location)).arrayBuffer());
    expect(original.equals(master)).toBe(true);
    // …and nobody else does.
    expect((await w.other.browser.get(`/tracks/${trackId}/files/${fileId}/play`)).status).toBe(404);
    expect((await w.t.client().get(`/tracks/${trackId}/files/${fileId}/play`)).status).not.toBe(302);
  });
});
