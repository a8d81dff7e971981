import type { Readable } from 'node:stream';
import type { AudioInfo } from './views';

type MusicMetadata = typeof import('music-metadata');

/**
 * music-metadata is an ES module. A real dynamic import (not rewritten to require by the CommonJS build)
 * loads it in the built app and under Jest alike.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<MusicMetadata>;
let loaded: Promise<MusicMetadata> | undefined;
const musicMetadata = () => (loaded ??= importEsm('music-metadata'));

function toInfo(format: import('music-metadata').IFormat): AudioInfo {
  return {
    durationSeconds: format.duration ?? null,
    sampleRate: format.sampleRate ?? null,
    bitsPerSample: format.bitsPerSample ?? null,
    channels: format.numberOfChannels ?? null,
    codec: format.codec ?? format.container ?? null,
    bitrate: format.bitrate ? Math.round(format.bitrate) : null,
  };
}

/** Duration, sample rate, bit depth, channels, codec and bitrate of an audio file on disk; null if unreadable. */
export async function audioInfoOfFile(path: string): Promise<AudioInfo | null> {
  try {
    const mm = await musicMetadata();
    return toInfo((await mm.parseFile(path, { duration: true, skipCovers: true })).format);
  } catch {
    return null;
  }
}

/** The same from a stream (a Dropbox temporary link), reading only what the headers need. */
export async function audioInfoOfStream(stream: Readable, size: number, mimeType?: string): Promise<AudioInfo | null> {
  try {
    const mm = await musicMetadata();
    const { format } = await mm.parseStream(stream, { size, mimeType }, { duration: false, skipCovers: true, skipPostHeaders: true });
    return toInfo(format);
  } catch {
    return null;
  } finally {
    stream.destroy();
  }
}
