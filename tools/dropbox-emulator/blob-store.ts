import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DropboxContentHasher, MeteringStream } from './content-hash';
import { StoredContent } from './namespace';
import { newSecret } from './ids';

/** What a streamed write received: the byte count, the content hash of those bytes, and whether it overflowed. */
export interface ReceivedBytes {
  bytes: number;
  contentHash: string;
  tooLarge: boolean;
}

/**
 * File contents on disk. Bytes are always streamed (never held whole in memory) and hashed on the way; blobs are
 * immutable once written, so copies and temporary links can share them. Blobs nobody references any more are
 * removed by `collectGarbage` at start-up rather than tracked with reference counts.
 */
export class BlobStore {
  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs'), { recursive: true });
    await mkdir(join(this.root, 'sessions'), { recursive: true });
  }

  private pathOf(blob: string): string {
    return join(this.root, 'blobs', blob);
  }

  private sessionPath(name: string): string {
    return join(this.root, 'sessions', name);
  }

  newSessionFile(): string {
    return `${newSecret(18)}.part`;
  }

  /** Streams `source` into a new blob; a payload over `maxBytes` is drained and discarded. */
  async write(source: Readable, maxBytes?: number): Promise<StoredContent & { tooLarge: boolean }> {
    const blob = `${newSecret(18)}.bin`;
    const received = await this.receive(source, this.pathOf(blob), 'w', [], maxBytes).catch(async (error: unknown) => {
      await this.remove(blob);
      throw error;
    });
    if (received.tooLarge) await this.remove(blob);
    return { blob, size: received.bytes, contentHash: received.contentHash, tooLarge: received.tooLarge };
  }

  /**
   * Appends `source` to an upload session's file at `offset`. `sessionHasher` follows the whole session; the
   * returned hash covers only this request's bytes (for the `content_hash` argument). A failed or oversized append
   * is cut off again, so the file always ends at the session's offset; the session hasher is then out of step and
   * the caller must drop it.
   */
  async append(
    source: Readable,
    sessionFile: string,
    offset: number,
    sessionHasher?: DropboxContentHasher,
    maxBytes?: number,
  ): Promise<ReceivedBytes> {
    const file = this.sessionPath(sessionFile);
    try {
      const received = await this.receive(source, file, 'a', sessionHasher ? [sessionHasher] : [], maxBytes);
      if (received.tooLarge) await truncate(file, offset);
      return received;
    } catch (error) {
      await truncate(file, offset);
      throw error;
    }
  }

  /** Streams bytes to a throw-away file: the `/_emulator/sink` baseline for benchmarks. */
  async sink(source: Readable): Promise<ReceivedBytes> {
    const file = this.sessionPath(`${newSecret(18)}.sink`);
    try {
      return await this.receive(source, file, 'w', []);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Turns a finished session's file into a blob (a rename: no bytes are copied). */
  async adoptSessionFile(sessionFile: string): Promise<string> {
    const blob = `${newSecret(18)}.bin`;
    await rename(this.sessionPath(sessionFile), this.pathOf(blob));
    return blob;
  }

  /** Gives a blob back to its session when the commit that adopted it failed. */
  async restoreSessionFile(blob: string, sessionFile: string): Promise<void> {
    await rename(this.pathOf(blob), this.sessionPath(sessionFile));
  }

  /** Cuts a session file back to `offset`, dropping bytes Dropbox would have refused. */
  async truncateSessionFile(sessionFile: string, offset: number): Promise<void> {
    await truncate(this.sessionPath(sessionFile), offset);
  }

  async hashSessionFile(sessionFile: string): Promise<string> {
    const hasher = new DropboxContentHasher();
    for await (const chunk of createReadStream(this.sessionPath(sessionFile))) hasher.update(chunk as Buffer);
    return hasher.digest();
  }

  read(blob: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(blob), range);
  }

  async remove(blob: string): Promise<void> {
    await rm(this.pathOf(blob), { force: true });
  }

  async removeSessionFile(sessionFile: string): Promise<void> {
    await rm(this.sessionPath(sessionFile), { force: true });
  }

  /** Deletes blobs and session files that no longer belong to anything. */
  async collectGarbage(liveBlobs: Set<string>, liveSessionFiles: Set<string>): Promise<void> {
    for (const name of await readdir(join(this.root, 'blobs'))) {
      if (!liveBlobs.has(name)) await this.remove(name);
    }
    for (const name of await readdir(join(this.root, 'sessions'))) {
      if (!liveSessionFiles.has(name)) await this.removeSessionFile(name);
    }
  }

  private async receive(
    source: Readable,
    file: string,
    flags: 'w' | 'a',
    extraHashers: DropboxContentHasher[],
    maxBytes?: number,
  ): Promise<ReceivedBytes> {
    const requestHasher = new DropboxContentHasher();
    const meter = new MeteringStream([requestHasher, ...extraHashers], maxBytes);
    await pipeline(source, meter, createWriteStream(file, { flags }));
    return { bytes: meter.bytes, contentHash: requestHasher.digest(), tooLarge: meter.exceeded };
  }
}
