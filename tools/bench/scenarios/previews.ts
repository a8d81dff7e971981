import { EntityManager, MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileUploadSource } from '../../../src/modules/dropbox/file-upload-source';
import { User } from '../../../src/modules/accounts/entities/user.entity';
import { Track } from '../../../src/modules/files/entities/track.entity';
import { TrackFile } from '../../../src/modules/files/entities/track-file.entity';
import { MediaPreview } from '../../../src/modules/media/entities/media-preview.entity';
import { PreviewsService } from '../../../src/modules/media/previews.service';
import { SharesService } from '../../../src/modules/share/shares.service';
import { ShareTuning } from '../../../src/modules/share/share-tuning';
import { BenchContext, MB, median, round, say, Scenario, ScenarioResult } from '../harness';
import { collectGarbage, measure, procStatus } from '../memory';

const run = promisify(execFile);
const SECONDS = 300;
const TTFB_ROUNDS = 15;

/** Peak RSS of this process's ffmpeg children while `work` runs (sampled from /proc every 50 ms, VmHWM). */
async function ffmpegPeak<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  const sample = () => {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      let children: string[] = [];
      try {
        children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean);
      } catch {
        continue;
      }
      for (const pid of children) {
        try {
          if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('ffmpeg')) continue;
        } catch {
          continue;
        }
        peak = Math.max(peak, procStatus(Number(pid))?.hwm ?? 0);
      }
    }
  };
  const timer = setInterval(sample, 50);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

/** The columns of a library file that describe its Dropbox file (for a second row of the same file). */
function pick(file: TrackFile) {
  const { category, name, dropboxId, dropboxPath, rev, size, contentHash, isMaster, durationSeconds } = file;
  return { category, name, dropboxId, dropboxPath, rev, size, contentHash, isMaster, durationSeconds };
}

/** Milliseconds to the first body byte of a GET (the response headers and one chunk). */
async function firstByteMs(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { headers: { Range: 'bytes=0-' } });
  if (res.status !== 200 && res.status !== 206) throw new Error(`${url} answered ${res.status}`);
  const reader = res.body!.getReader();
  await reader.read();
  const ms = performance.now() - started;
  await reader.cancel();
  return ms;
}

/**
 * Previews of a five-minute 24-bit/48 kHz stereo WAV: how fast ffmpeg builds the rendition, peaks and loudness (as
 * a multiple of real time), the worker's memory while it does, the rendition's size; then how soon a listen-only
 * play starts sending audio, against relaying the original as the share link did before previews.
 */
export const previewsScenario: Scenario = {
  name: 'previews',
  description: `preview of a ${SECONDS / 60}-minute 24-bit/48 kHz WAV: build speed, worker memory, size; first audio byte vs relayed original`,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [producer, app, config] = await Promise.all([ctx.producer(), ctx.app(), ctx.config()]);
    const base = await ctx.listen();
    const seconds = ctx.options.quick ? 60 : SECONDS;
    const source = join(ctx.tmpDir, 'bench-master.wav');
    say(`previews: generating a ${seconds} s 24-bit/48 kHz stereo WAV with ffmpeg…`);
    // Tones and pink noise: more like a mix than a sine, so the encoder has real work.
    await run(config.media.ffmpegPath, [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=110:sample_rate=48000:duration=${seconds}`,
      '-f',
      'lavfi',
      '-i',
      `anoisesrc=color=pink:sample_rate=48000:amplitude=0.25:duration=${seconds}`,
      '-filter_complex',
      '[0][1]amix=inputs=2,aformat=channel_layouts=stereo',
      '-c:a',
      'pcm_s24le',
      source,
    ]);
    const size = statSync(source).size;
    const entry = await producer.client.upload(
      `/Bench/previews-${Date.now()}/Bounces/Master.wav`,
      fileUploadSource(source, size),
    );

    const orm = app.get(MikroORM);
    const em = app.get(EntityManager).fork();
    const track = em.create(Track, {
      owner: em.getReference(User, producer.userId),
      title: 'Preview bench',
      sharingStatus: 'private',
    });
    const file = em.create(TrackFile, {
      track,
      category: 'bounce',
      name: 'Master.wav',
      dropboxId: entry.id,
      dropboxPath: entry.pathDisplay,
      rev: entry.rev,
      size,
      contentHash: entry.contentHash,
      isMaster: true,
      durationSeconds: seconds,
    });
    await em.flush();
    const previews = app.get(PreviewsService);

    say('previews: building the preview (ffmpeg: AAC rendition, peaks, loudness; uploaded to Dropbox)…');
    collectGarbage();
    const idle = procStatus('self')?.rss ?? process.memoryUsage().rss;
    const built = await ffmpegPeak(() => measure(() => previews.build(file.id, true)));
    const preview = await em.fork().findOneOrFail(MediaPreview, { file: file.id });
    if (preview.status !== 'ready') throw new Error(`the preview was not built: ${preview.reason}`);
    const buildSeconds = built.result.ms / 1000;
    const workerAboveIdle = Math.max(0, built.result.memory.peakRss - idle);

    // Time to the first audio byte of a listen-only play: the preview against the original relayed as the share link
    // did before previews. Both go through the very same play route: a second track's file (the same Dropbox file)
    // has a "preview" row that points at the original itself, so the only difference is what is relayed.
    const twin = em.create(Track, {
      owner: em.getReference(User, producer.userId),
      title: 'Original bench',
      sharingStatus: 'private',
    });
    const twinFile = em.create(TrackFile, { ...pick(file), track: twin });
    em.create(MediaPreview, {
      file: twinFile,
      revision: file.contentHash!,
      status: 'ready',
      dropboxId: entry.id,
      dropboxPath: entry.pathDisplay,
      dropboxRev: entry.rev,
      size,
      peaks: preview.peaks,
      durationSeconds: seconds,
    });
    await em.flush();
    const share = await RequestContext.create(orm.em, () =>
      app.get(SharesService).create(producer.userId, {
        tracks: [
          { trackId: track.id, files: [`f:${file.id}`] },
          { trackId: twin.id, files: [`f:${twinFile.id}`] },
        ],
        downloads: { bounce: false },
        expiry: 'never',
      }),
    );
    const tuning = app.get(ShareTuning);
    tuning.fileRequestsPerMinute = 1e9;
    const previewUrl = `${base}${share.path}/files/${file.id}/play`;
    const originalUrl = `${base}${share.path}/files/${twinFile.id}/play`;
    const previewTimes: number[] = [];
    const originalTimes: number[] = [];
    try {
      await firstByteMs(previewUrl);
      await firstByteMs(originalUrl);
      for (let i = 0; i < TTFB_ROUNDS; i += 1) {
        previewTimes.push(await firstByteMs(previewUrl));
        originalTimes.push(await firstByteMs(originalUrl));
      }
    } finally {
      tuning.fileRequestsPerMinute = new ShareTuning().fileRequestsPerMinute;
    }
    const ratios = previewTimes.map((p, i) => p / originalTimes[i]);
    say(
      `previews: built in ${round(buildSeconds, 2)} s (${round(seconds / buildSeconds, 1)}× real time); first byte ${round(median(previewTimes), 1)} ms vs ${round(median(originalTimes), 1)} ms`,
    );

    return {
      figures: [
        {
          key: 'previews.build_speed',
          label: `preview build of a ${seconds} s 24-bit/48 kHz stereo WAV (× real time)`,
          value: round(seconds / buildSeconds, 1),
          unit: '×',
          target: { op: '>=', value: 40 },
          note: `${round(buildSeconds, 2)} s wall; CPU ${built.result.cpu.bench ?? 0} s in Node; includes the upload of the rendition`,
        },
        {
          key: 'previews.worker_rss_above_idle_mb',
          label: 'worker peak RSS during the build, above idle',
          value: round(workerAboveIdle / MB, 1),
          unit: 'MB',
          target: { op: '<=', value: 150 },
          note: `idle ${round(idle / MB)} MB; ffmpeg's own peak ${round(built.peak / MB, 1)} MB`,
        },
        {
          key: 'previews.size_ratio',
          label: 'preview size / original size',
          value: round((preview.size ?? 0) / size, 3),
          note: `${round((preview.size ?? 0) / MB, 1)} MB AAC vs ${round(size / MB, 1)} MB WAV; loudness ${preview.loudnessLufs?.toFixed(1)} LUFS, true peak ${preview.truePeakDb?.toFixed(1)} dBTP`,
        },
        {
          key: 'previews.first_byte_ratio',
          label: 'first audio byte of a listen-only play: preview / the original relayed by the same route (medians)',
          value: round(median(ratios), 2),
          target: { op: '<=', value: 1 },
          note: `${round(median(previewTimes), 1)} ms vs ${round(median(originalTimes), 1)} ms over ${TTFB_ROUNDS} alternating rounds`,
        },
      ],
      details: {
        seconds,
        size,
        previewSize: preview.size,
        buildMs: built.result.ms,
        idle,
        peakRss: built.result.memory.peakRss,
        ffmpegPeak: built.peak,
        previewTimes,
        originalTimes,
      },
    };
  },
};
