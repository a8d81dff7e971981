import { createHash, Hash } from 'node:crypto';

export const DROPBOX_HASH_BLOCK = 4 * 1024 * 1024;

/**
 * Dropbox's content_hash, computed incrementally: SHA-256 of each 4 MiB block, then SHA-256 of the
 * concatenated block digests. The finished block digests can be saved and restored, so an upload resumed
 * at a block boundary (every chunk is a multiple of 4 MiB) need not re-read what was already sent.
 */
export class DropboxContentHasher {
  private readonly blockDigests: Buffer[];
  private block: Hash = createHash('sha256');
  private blockFill = 0;

  constructor(savedBlockDigests: string[] = []) {
    this.blockDigests = savedBlockDigests.map((hex) => Buffer.from(hex, 'hex'));
  }

  update(data: Buffer): this {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(DROPBOX_HASH_BLOCK - this.blockFill, data.length - offset);
      this.block.update(data.subarray(offset, offset + take));
      this.blockFill += take;
      offset += take;
      if (this.blockFill === DROPBOX_HASH_BLOCK) this.closeBlock();
    }
    return this;
  }

  /** The finished blocks so far (only valid to save at a block boundary). */
  savedState(): string[] {
    if (this.blockFill !== 0) throw new Error('hasher state can only be saved at a 4 MiB boundary');
    return this.blockDigests.map((d) => d.toString('hex'));
  }

  digest(): string {
    if (this.blockFill > 0) this.closeBlock();
    return createHash('sha256').update(Buffer.concat(this.blockDigests)).digest('hex');
  }

  private closeBlock(): void {
    this.blockDigests.push(this.block.digest());
    this.block = createHash('sha256');
    this.blockFill = 0;
  }
}
