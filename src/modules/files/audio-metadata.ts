import { Worker } from 'node:worker_threads';
import type { AudioInfo } from './views';

/** A file that takes longer than this to parse is treated as unreadable (and cannot stall anything). */
const PARSE_TIMEOUT_MS = 30_000;

/**
 * Runs in a worker thread. music-metadata is an ES module that Node 22.12+ `require`s natively; a worker keeps it
 * out of the caller's module system (it also loads the same way under Jest) and keeps parsing untrusted files off
 * the main thread, where a pathological file could block requests.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// Resolved from this module's own folder, whatever the working directory.
const mm = require('node:module').createRequire(workerData.base)('music-metadata');
const { Readable } = require('node:stream');
(async () => {
  const options = { duration: workerData.kind === 'file', skipCovers: true, skipPostHeaders: workerData.kind === 'url' };
  let metadata;
  if (workerData.kind === 'file') {
    metadata = await mm.parseFile(workerData.path, options);
  } else {
    const res = await fetch(workerData.url);
    if (!res.ok || !res.body) throw new Error('the file answered ' + res.status);
    const stream = Readable.fromWeb(res.body);
    try {
      metadata = await mm.parseStream(stream, { size: workerData.size }, options);
    } finally {
      stream.destroy();
    }
  }
  const f = metadata.format;
  // Bytes the parser recognised nothing in are not audio.
  if (f.duration == null && f.sampleRate == null && f.codec == null) return parentPort.postMessage(null);
  parentPort.postMessage({
    durationSeconds: f.duration ?? null,
    sampleRate: f.sampleRate ?? null,
    bitsPerSample: f.bitsPerSample ?? null,
    channels: f.numberOfChannels ?? null,
    codec: f.codec ?? f.container ?? null,
    bitrate: f.bitrate ? Math.round(f.bitrate) : null,
  });
})().catch(() => parentPort.postMessage(null));
`;

function parseInWorker(
  input: { kind: 'file'; path: string } | { kind: 'url'; url: string; size: number },
): Promise<AudioInfo | null> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...input, base: __filename },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const timer = setTimeout(() => void worker.terminate(), PARSE_TIMEOUT_MS);
    let answered = false;
    const finish = (info: AudioInfo | null) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve(info);
      void worker.terminate();
    };
    worker.once('message', (info: AudioInfo | null) => finish(info));
    worker.once('error', () => finish(null));
    worker.once('exit', () => finish(null));
  });
}

/** Duration, sample rate, bit depth, channels, codec and bitrate of an audio file on disk; null if unreadable. */
export function audioInfoOfFile(path: string): Promise<AudioInfo | null> {
  return parseInWorker({ kind: 'file', path });
}

/** The same from a URL (a Dropbox temporary link), reading only what the headers need. */
export function audioInfoOfUrl(url: string, size: number): Promise<AudioInfo | null> {
  return parseInWorker({ kind: 'url', url, size });
}
