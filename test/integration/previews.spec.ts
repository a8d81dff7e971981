import { EntityManager } from '@mikro-orm/postgresql';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import { QueueName } from '../../src/queues/queues';
import { TrackFile } from '../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../src/modules/media/entities/media-preview.entity';
import { ShareTuning } from '../../src/modules/share/share-tuning';
import { makeWav } from '../../tools/fixtures/audio';
import { eventually } from '../faults/support';
import {
  api,
  binary,
  readyPreview as preview,
  makeTrack,
  MadeTrack,
  selectionOf,
  ShareWorld,
  startShareWorld,
  tokenOf,
} from './share-support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An MP4 file starts with its `ftyp` box: bytes 4–8 spell it. */
const isMp4 = (b: Buffer) => b.subarray(4, 8).toString('latin1') === 'ftyp';

async function previewsOf(w: ShareWorld, fileId: string): Promise<MediaPreview[]> {
  return w.t.app
    .get(EntityManager)
    .fork()
    .find(MediaPreview, { file: fileId }, { orderBy: { createdAt: 'asc' } });
}

/** The ready preview of the file's current revision, or of `revision`. */
async function readyPreview(w: ShareWorld, fileId: string, revision?: string): Promise<MediaPreview> {
  return preview(w.t, fileId, revision);
}

describe('previews: what a listen-only recipient hears', () => {
  let w: ShareWorld;
  let track: MadeTrack;
  let token: string;
  let ids: Record<string, string>;
  const master = makeWav({ seconds: 3, frequencies: [220, 330], channels: 2, sampleRate: 48_000, bitsPerSample: 24 });

  beforeAll(async () => {
    w = await startShareWorld({ workers: true });
    // Ask Dropbox for the live revision on every play: a new revision is seen at once.
    w.t.app.get(ShareTuning).revisionCheckMs = 0;
    track = await makeTrack(
      w.producer,
      w.dbx,
      { title: 'Quiet Room', sharingStatus: 'private' },
      {
        'Bounces/Master.wav': master,
        'Stems/Vox.wav': makeWav({ seconds: 1, frequencies: [440], channels: 1, sampleRate: 44_100 }),
        'Stems/Broken.wav': Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEnot really audio at all'.repeat(40)),
        'Projects/Session.als': Buffer.from('ableton '.repeat(100)),
      },
    );
    const sel = await selectionOf(w.producer, track.id);
    const res = await api(w.producer).post('/api/v1/shares', {
      tracks: [{ trackId: track.id, files: Object.values(sel) }],
      downloads: { bounce: false, project: false, stem: false },
    });
    expect(res.status).toBe(201);
    token = tokenOf(res.body.url);
    ids = Object.fromEntries(
      Object.entries(await selectionOf(w.producer, track.id)).map(([name, value]) => [name, value.slice(2)]),
    );
  });
  afterAll(async () => w?.close());

  const play = (name: string) => `/s/${token}/files/${ids[name]}/play`;

  it("builds an AAC rendition in the producer's Dropbox, peaks and loudness, per revision", async () => {
    const preview = await readyPreview(w, ids['Master.wav']);
    const file = await w.t.app.get(EntityManager).fork().findOneOrFail(TrackFile, { id: ids['Master.wav'] });
    expect(preview.revision).toBe(file.contentHash);
    expect(preview.dropboxPath).toMatch(/^\/Producer Dashboard\/\.previews\/.+\.m4a$/);
    const stored = await w.dbx.filesGetMetadata({ path: preview.dropboxPath! });
    expect(stored.result['.tag']).toBe('file');
    expect(preview.peaks!.length).toBe(2048);
    // Normalised: the loudest sample is ±127.
    expect(Math.max(...[...new Int8Array(preview.peaks!)].map(Math.abs))).toBe(127);
    expect(preview.durationSeconds).toBeCloseTo(3, 1);
    expect(preview.loudnessLufs).toBeLessThan(0);
    expect(preview.truePeakDb).toBeLessThan(0.5);
    expect(preview.size!).toBeLessThan(master.length / 3);
  });

  it('a listen-only play serves the preview, never the original: whole, with Range, and HEAD', async () => {
    await readyPreview(w, ids['Master.wav']);
    const whole = await binary(w.t.client().get(play('Master.wav')));
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('audio/mp4');
    expect(whole.headers['cache-control']).toBe('private, no-store');
    expect(whole.headers.location).toBeUndefined();
    const body = whole.body as Buffer;
    expect(isMp4(body)).toBe(true);
    expect(sha(body)).not.toBe(sha(master));
    expect(body.includes(master.subarray(44, 4096))).toBe(false);

    const part = await binary(w.t.client().get(play('Master.wav')).set('Range', 'bytes=0-99'));
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 0-99/${body.length}`);
    expect((part.body as Buffer).equals(body.subarray(0, 100))).toBe(true);
    const tail = await binary(
      w.t
        .client()
        .get(play('Master.wav'))
        .set('Range', `bytes=${body.length - 10}-`),
    );
    expect((tail.body as Buffer).equals(body.subarray(body.length - 10))).toBe(true);

    const head = await w.t.client().agent.head(play('Master.wav'));
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('audio/mp4');
    expect(Number(head.headers['content-length'])).toBe(body.length);
  });

  it('a new revision in Dropbox gets its own preview, and the old rendition is removed', async () => {
    const first = await readyPreview(w, ids['Master.wav']);
    const replacement = makeWav({ seconds: 2, frequencies: [110], channels: 2, sampleRate: 44_100 });
    await w.dbx.filesUpload({
      path: `${track.folder}/Bounces/Master.wav`,
      contents: replacement,
      mode: { '.tag': 'overwrite' },
    });
    // The next play sees the new revision: a listen-only recipient waits for its preview, never gets the original.
    const pending = await binary(w.t.client().get(play('Master.wav')));
    if (pending.status !== 200) {
      expect(pending.status).toBe(503);
      expect(pending.headers['retry-after']).toBe('5');
      expect(sha(pending.body as Buffer)).not.toBe(sha(replacement));
    }
    const file = await eventually(
      'new revision recorded',
      () => w.t.app.get(EntityManager).fork().findOneOrFail(TrackFile, { id: ids['Master.wav'] }),
      (f) => f.contentHash !== first.revision,
    );
    const second = await readyPreview(w, ids['Master.wav'], file.contentHash!);
    expect(second.dropboxPath).not.toBe(first.dropboxPath);
    const rows = await eventually(
      'old preview removed',
      () => previewsOf(w, ids['Master.wav']),
      (r) => r.length === 1,
    );
    expect(rows[0].id).toBe(second.id);
    await expect(w.dbx.filesGetMetadata({ path: first.dropboxPath! })).rejects.toMatchObject({ status: 409 });
    const served = await binary(w.t.client().get(play('Master.wav')));
    expect(served.status).toBe(200);
    expect(isMp4(served.body as Buffer)).toBe(true);
    expect(Number(served.headers['content-length'])).toBe(second.size);
  });

  it('a preview deleted in Dropbox is built again', async () => {
    const before = await readyPreview(w, ids['Vox.wav']);
    await w.dbx.filesDeleteV2({ path: before.dropboxPath! });
    const res = await binary(w.t.client().get(play('Vox.wav')));
    expect(res.status).toBe(503);
    expect(isMp4(res.body as Buffer)).toBe(false);
    const rebuilt = await eventually(
      'rebuilt',
      () => previewsOf(w, ids['Vox.wav']),
      (r) => r[0]?.status === 'ready' && r[0].rebuilds === 1,
    );
    expect((await w.dbx.filesGetMetadata({ path: rebuilt[0].dropboxPath! })).result['.tag']).toBe('file');
    expect((await binary(w.t.client().get(play('Vox.wav')))).status).toBe(200);
  });

  it('a file ffmpeg cannot decode gets "no preview" with the reason, once, and is not played', async () => {
    const rows = await eventually(
      'broken file failed',
      () => previewsOf(w, ids['Broken.wav']),
      (r) => r[0]?.status === 'failed',
    );
    expect(rows[0].reason).toMatch(/ffmpeg could not read this file: .*Invalid data/i);
    const queue = w.t.app.get<Queue>(getQueueToken(QueueName.Media), { strict: false });
    const failed = await queue.getFailed();
    const job = failed.find((j) => j.data.trackFileId === ids['Broken.wav']);
    expect(job?.attemptsMade).toBe(1);
    const res = await w.t.client().get(play('Broken.wav')).set('Accept', 'application/json');
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/can't be played here/);
    // Asking again changes nothing: no new job, no retry loop.
    expect(
      (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting +
        (await queue.getJobCounts('delayed')).delayed,
    ).toBe(0);
    const page = await w.t.client().get(`/s/${token}`);
    expect(page.text).toContain("Can't be played here");
    expect(page.text).not.toContain(`src="${play('Broken.wav')}"`);
  });

  it("the page draws each track's waveform as inline SVG and offers no download", async () => {
    await readyPreview(w, ids['Master.wav']);
    await eventually(
      'waveform on the page',
      async () => {
        w.t.app.get(ShareTuning).pageCacheMs = 0;
        return (await w.t.client().get(`/s/${token}`)).text;
      },
      (html) => html.includes('class="wave"'),
    );
    const html = (await w.t.client().get(`/s/${token}`)).text;
    const svg = /<svg class="wave"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(svg).toMatch(/<path id="wave-[0-9a-f-]+" d="(M\d+ \d+h3v\d+h-3z){200}"\/>/);
    expect(Buffer.byteLength(svg)).toBeLessThan(6_000);
    expect(html).not.toContain('/download');
    for (const tag of html.match(/<audio[^>]*>/g)!) expect(tag).toContain('controlslist="nodownload"');
    expect(html).not.toMatch(/style="/);
  });
});
