import { execFile, spawn } from 'node:child_process';
import { PeakAccumulator, type Peaks } from './peaks';

/** AAC-LC in MP4: plays in every current browser, iOS Safari included. */
export const PREVIEW_CONTENT_TYPE = 'audio/mp4';
export const PREVIEW_BITRATE = '256k';
/** Min/max pairs kept per file: enough for any waveform the pages draw, 2 KB per revision. */
export const PEAK_PAIRS = 1024;

/** ffmpeg could read the input but found no audio it can decode: retrying will not help. */
export class UndecodableAudio extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UndecodableAudio';
  }
}

/** ffmpeg is not installed (or FFMPEG_PATH points nowhere). */
export class FfmpegMissing extends Error {
  constructor(path: string) {
    super(`ffmpeg was not found (${path}): install it (Debian: apt-get install ffmpeg) or set FFMPEG_PATH`);
    this.name = 'FfmpegMissing';
  }
}

export interface Loudness {
  /** Integrated loudness, EBU R128, in LUFS; null for silence. */
  integratedLufs: number | null;
  /** True peak in dBTP; null for silence. */
  truePeakDb: number | null;
}

export interface RenderedPreview {
  peaks: Peaks;
  durationSeconds: number;
  loudness: Loudness;
}

/** The first line of `ffmpeg -version`, or null when the program can't be run. */
export function ffmpegVersion(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? null : (stdout.split('\n')[0]?.trim() ?? null));
    });
  });
}

/** What ffmpeg says when the input is not audio it can decode (as opposed to a network or disk failure). */
const UNDECODABLE = [
  /Invalid data found when processing input/i,
  /could not find codec parameters/i,
  /does not contain any stream/i,
  /matches no streams/i,
  /Decoder \(codec [^)]+\) not found/i,
  /Unknown input format/i,
  /no audio stream/i,
];

/** ffmpeg's own words, without the addresses it prints (a temporary link is a credential). */
function reasonFrom(stderr: string, input: string): string {
  const lines = stderr
    .split('\n')
    .map((l) =>
      l
        .replaceAll(input, 'the file')
        .replace(/https?:\/\/\S+/g, 'the file')
        .replace(/^\[[^\]]+\]\s*/, '')
        .trim(),
    )
    .filter((l) => l && !/^(Stream mapping|Press \[q\]|Input #|Output #|Metadata|Duration|Stream #|\s)/.test(l));
  const meaningful = lines.filter((l) => UNDECODABLE.some((re) => re.test(l)) || /error/i.test(l));
  return (meaningful.at(-1) ?? lines.at(-1) ?? 'ffmpeg failed').slice(0, 300);
}

/** Reads the "Summary:" block that the ebur128 filter prints at the end. */
export function parseLoudness(stderr: string): Loudness {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const number = (re: RegExp) => {
    const m = re.exec(summary);
    if (!m || /inf/i.test(m[1])) return null;
    const value = Number(m[1]);
    // ebur128 reports -70 LUFS (its gate) for silence.
    return Number.isFinite(value) ? value : null;
  };
  const integrated = number(/I:\s+(-?[\d.]+|-?inf)\s+LUFS/);
  return {
    integratedLufs: integrated !== null && integrated <= -70 ? null : integrated,
    truePeakDb: number(/Peak:\s+(-?[\d.]+|-?inf)\s+dBFS/),
  };
}

const MAX_STDERR = 256 * 1024;

/**
 * One ffmpeg run per preview: it reads the source (a URL, streamed by ffmpeg itself with HTTP range reads, never
 * stored), and at once writes the AAC rendition to `output`, a mono 16-bit mix to our stdout for the peaks, and
 * loudness to its log. The rendition is moved to the front (`+faststart`) so players can start before the end.
 */
export function renderPreview(
  ffmpegPath: string,
  input: string,
  output: string,
  signal?: AbortSignal,
): Promise<RenderedPreview> {
  const network = /^https?:/.test(input)
    ? ['-reconnect', '1', '-reconnect_on_network_error', '1', '-rw_timeout', '30000000']
    : [];
  const args = [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    ...network,
    '-i',
    input,
    '-filter_complex',
    // Three branches of the first audio stream: the rendition (at most stereo, 44.1 or 48 kHz), the peaks'
    // mono mix at the source rate, and EBU R128 loudness with true peak.
    '[0:a:0]asplit=3[enc][pk][ld];' +
      '[enc]aformat=sample_rates=48000|44100:channel_layouts=stereo|mono[encout];' +
      '[pk]aformat=sample_fmts=s16:channel_layouts=mono[pkout];' +
      '[ld]ebur128=peak=true:framelog=verbose[ldout]',
    '-map',
    '[encout]',
    '-c:a',
    'aac',
    '-aac_coder',
    'fast',
    '-b:a',
    PREVIEW_BITRATE,
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    output,
    '-map',
    '[pkout]',
    '-f',
    's16le',
    'pipe:1',
    '-map',
    '[ldout]',
    '-f',
    'null',
    '-',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const peaks = new PeakAccumulator();
    let stderr = '';
    let leftover: Buffer | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      let data = chunk;
      if (leftover) {
        data = Buffer.concat([leftover, chunk]);
        leftover = null;
      }
      const even = data.length - (data.length % 2);
      if (even < data.length) leftover = data.subarray(even);
      peaks.add(new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + even)));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      // The head has the stream facts, the tail the summary and errors; the frame log in between can go.
      if (stderr.length > MAX_STDERR) stderr = stderr.slice(0, MAX_STDERR / 4) + stderr.slice(-MAX_STDERR / 2);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new FfmpegMissing(ffmpegPath) : err);
    });
    child.on('close', (code) => {
      if (code !== 0) {
        const reason = reasonFrom(stderr, input);
        const undecodable =
          UNDECODABLE.some((re) => re.test(stderr)) && !/Server returned|Connection|timed out|I\/O error/i.test(reason);
        return reject(undecodable ? new UndecodableAudio(reason) : new Error(`ffmpeg exited with ${code}: ${reason}`));
      }
      const rate = /Output #1[\s\S]*?Audio: pcm_s16le[^,]*, (\d+) Hz/.exec(stderr);
      const sampleRate = rate ? Number(rate[1]) : 0;
      if (!sampleRate || peaks.samples === 0) return reject(new UndecodableAudio('ffmpeg found no audio in this file'));
      resolve({
        peaks: peaks.finish(PEAK_PAIRS),
        durationSeconds: peaks.samples / sampleRate,
        loudness: parseLoudness(stderr),
      });
    });
  });
}
