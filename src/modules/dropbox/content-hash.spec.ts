import { createHash, randomBytes } from 'node:crypto';
import { DROPBOX_HASH_BLOCK, DropboxContentHasher } from './content-hash';

function reference(data: Buffer): string {
  const digests: Buffer[] = [];
  for (let i = 0; i < data.length; i += DROPBOX_HASH_BLOCK) {
    digests.push(
      createHash('sha256')
        .update(data.subarray(i, i + DROPBOX_HASH_BLOCK))
        .digest(),
    );
  }
  return createHash('sha256').update(Buffer.concat(digests)).digest('hex');
}

describe('DropboxContentHasher', () => {
  const data = randomBytes(DROPBOX_HASH_BLOCK * 2 + 12345);

  it('matches the block-wise definition whatever the chunking', () => {
    const oneShot = new DropboxContentHasher().update(data).digest();
    const hasher = new DropboxContentHasher();
    for (let i = 0; i < data.length; i += 777_777) hasher.update(data.subarray(i, i + 777_777));
    expect(oneShot).toBe(reference(data));
    expect(hasher.digest()).toBe(reference(data));
  });

  it('hashes the empty file as SHA-256 of nothing', () => {
    expect(new DropboxContentHasher().digest()).toBe(createHash('sha256').update(Buffer.alloc(0)).digest('hex'));
  });

  it('resumes from saved block digests at a block boundary', () => {
    const first = new DropboxContentHasher().update(data.subarray(0, DROPBOX_HASH_BLOCK));
    const resumed = new DropboxContentHasher(first.savedState()).update(data.subarray(DROPBOX_HASH_BLOCK));
    expect(resumed.digest()).toBe(reference(data));
    expect(() => new DropboxContentHasher().update(Buffer.alloc(10)).savedState()).toThrow(/boundary/);
  });
});
