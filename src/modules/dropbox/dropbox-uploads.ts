import type { files } from 'dropbox';
import { DROPBOX_HASH_BLOCK, DropboxContentHasher } from './content-hash';
import { DropboxIntegrityError, DropboxPermanent } from './dropbox.errors';
import type { DropboxAccountCalls } from './dropbox-calls';
import { fileEntry } from './dropbox-entries';
import type { DropboxEntry, UploadOptions, UploadSource } from './dropbox.types';

/**
 * Chunks of a source from `offset`. A source that can read at a position fills one buffer, reused for every chunk
 * (the caller is done with a chunk before asking for the next): no garbage per chunk, flat memory. Otherwise the
 * stream is cut into fixed-size chunks.
 */
async function* chunksFrom(source: UploadSource, offset: number, chunkSize: number): AsyncGenerator<Buffer> {
  if (!source.read) {
    yield* chunksOf(source.open(offset) as AsyncIterable<Buffer>, chunkSize);
    return;
  }
  const buffer = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(source.size - offset, 1)));
  let position = offset;
  while (position < source.size) {
    const want = Math.min(chunkSize, source.size - position);
    let filled = 0;
    while (filled < want) {
      const n = await source.read(buffer.subarray(filled, want), position + filled);
      if (n === 0) break;
      filled += n;
    }
    if (filled === 0) return;
    yield buffer.subarray(0, filled);
    position += filled;
    if (filled < want) return;
  }
}

/** Reads a stream into fixed-size chunks; at most one chunk (plus the stream's buffer) is in memory. */
async function* chunksOf(stream: AsyncIterable<Buffer>, chunkSize: number): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(chunkSize);
  let fill = 0;
  for await (const piece of stream) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(chunkSize - fill, piece.length - offset);
      piece.copy(chunk, fill, offset, offset + take);
      fill += take;
      offset += take;
      if (fill === chunkSize) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield chunk.subarray(0, fill);
}

/** Uploads of one account: `files/upload` for what fits a chunk, resumable upload sessions for the rest. */
export class DropboxUploads {
  constructor(
    private readonly calls: DropboxAccountCalls,
    private readonly chunkSize: number,
  ) {}

  /**
   * Streams a file of any size into Dropbox: one `files/upload` when it fits a chunk, otherwise an upload
   * session whose cursor and hash state are handed to `onCheckpoint` after each chunk, so a retry (even in
   * another process) resumes where it stopped. The content hash is computed while streaming and must match
   * Dropbox's.
   */
  async upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<DropboxEntry> {
    try {
      return await this.uploadFrom(path, source, options);
    } finally {
      await source.close?.();
    }
  }

  private async uploadFrom(path: string, source: UploadSource, options: UploadOptions): Promise<DropboxEntry> {
    const chunkSize = this.chunkSize;
    const commit: files.CommitInfo = {
      path,
      mode:
        typeof options.mode === 'object'
          ? { '.tag': 'update', update: options.mode.update }
          : { '.tag': options.mode ?? 'add' },
      autorename: options.autorename ?? false,
      mute: true,
    };

    if (source.size <= chunkSize && !options.checkpoint) {
      const hasher = new DropboxContentHasher();
      const parts: Buffer[] = [];
      for await (const piece of chunksFrom(source, 0, chunkSize)) {
        hasher.update(piece);
        parts.push(Buffer.from(piece));
      }
      const contents = Buffer.concat(parts);
      const expected = hasher.digest();
      const meta = await this.calls.call('files/upload', 'write', (dbx) =>
        dbx.filesUpload({ ...commit, contents, content_hash: expected } as files.UploadArg),
      );
      options.onProgress?.(contents.length);
      return this.verified(meta, expected);
    }

    let checkpoint = options.checkpoint ?? null;
    const hasher = new DropboxContentHasher(checkpoint?.blockDigests ?? []);
    let offset = checkpoint?.offset ?? 0;
    let sessionId = checkpoint?.sessionId;
    for await (const chunk of chunksFrom(source, offset, chunkSize)) {
      if (chunk.length % DROPBOX_HASH_BLOCK !== 0 && offset + chunk.length !== source.size) {
        throw new DropboxIntegrityError(`the source of ${path} is shorter than its announced size`);
      }
      hasher.update(chunk);
      if (!sessionId) {
        const started = await this.calls.call('files/upload_session/start', 'read', (dbx) =>
          dbx.filesUploadSessionStart({ close: false, contents: chunk }),
        );
        sessionId = started.session_id;
      } else {
        await this.appendChunk(sessionId, offset, chunk);
      }
      offset += chunk.length;
      options.onProgress?.(offset);
      if (offset < source.size) {
        checkpoint = { sessionId, offset, blockDigests: hasher.savedState() };
        await options.onCheckpoint?.(checkpoint);
      }
    }
    if (!sessionId || offset !== source.size) {
      throw new DropboxIntegrityError(`read ${offset} of ${source.size} bytes of ${path}`);
    }
    const finalSession = sessionId;
    const expected = hasher.digest();
    const meta = await this.calls.call('files/upload_session/finish', 'write', (dbx) =>
      dbx.filesUploadSessionFinish({ cursor: { session_id: finalSession, offset }, commit }),
    );
    await options.onCheckpoint?.(null);
    return this.verified(meta, expected);
  }

  private async appendChunk(sessionId: string, offset: number, chunk: Buffer): Promise<void> {
    try {
      await this.calls.call('files/upload_session/append_v2', 'read', (dbx) =>
        dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset }, close: false, contents: chunk }),
      );
    } catch (err) {
      // A retried append whose first attempt did arrive: Dropbox already holds these bytes.
      if (err instanceof DropboxPermanent && err.tags.includes('incorrect_offset')) {
        if (err.correctOffset === offset + chunk.length) return;
      }
      throw err;
    }
  }

  private verified(meta: files.FileMetadata, expectedHash: string): DropboxEntry {
    if (meta.content_hash && meta.content_hash !== expectedHash) {
      throw new DropboxIntegrityError(`Dropbox stored different bytes for ${meta.path_display}: hash mismatch`);
    }
    return fileEntry(meta);
  }
}
