import { createHash, Hash } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';

/** Dropbox hashes content in 4 MiB blocks. */
export const CONTENT_HASH_BLOCK_SIZE = 4 * 1024 * 1024;

/**
 * Dropbox's `content_hash`: SHA-256 of every 4 MiB block, then SHA-256 of the concatenated block digests, hex.
 * Incremental, so it can follow a stream (or an upload session across requests) without buffering a block.
 */
export class DropboxContentHasher {
  private readonly overall = createHash('sha256');
  private block: Hash = createHash('sha256');
  private blockFill = 0;

  update(chunk: Buffer): this {
    let position = 0;
    while (position < chunk.length) {
      const take = Math.min(CONTENT_HASH_BLOCK_SIZE - this.blockFill, chunk.length - position);
      this.block.update(chunk.subarray(position, position + take));
      this.blockFill += take;
      position += take;
      if (this.blockFill === CONTENT_HASH_BLOCK_SIZE) this.closeBlock();
    }
    return this;
  }

  digest(): string {
    if (this.blockFill > 0) this.closeBlock();
    return this.overall.digest('hex');
  }

  private closeBlock(): void {
    this.overall.update(this.block.digest());
    this.block = createHash('sha256');
    this.blockFill = 0;
  }
}

export function dropboxContentHash(data: Buffer): string {
  return new DropboxContentHasher().update(data).digest();
}

/**
 * A pass-through stream that counts bytes and feeds hashers. Past `maxBytes` it swallows the rest instead of
 * failing, so the request is still read to its end and the client receives a proper error response.
 */
export class MeteringStream extends Transform {
  bytes = 0;

  constructor(
    private readonly hashers: DropboxContentHasher[],
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    super();
  }

  get exceeded(): boolean {
    return this.bytes > this.maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.exceeded) return done();
    for (const hasher of this.hashers) hasher.update(chunk);
    done(null, chunk);
  }
}
