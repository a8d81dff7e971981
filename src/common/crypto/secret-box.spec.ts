import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const key = randomBytes(32);

  it('round-trips and never contains the plaintext', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('refresh-token-abc', 'account:1');
    expect(sealed).not.toContain('refresh-token-abc');
    expect(box.open(sealed, 'account:1')).toBe('refresh-token-abc');
  });

  it('uses a fresh IV each time', () => {
    const box = new SecretBox(key);
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses tampered ciphertext and the wrong associated data', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('secret', 'a');
    expect(() => box.open(sealed, 'b')).toThrow();
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'), 'a')).toThrow();
  });

  it('opens values sealed with the previous key after a rotation and flags them for re-sealing', () => {
    const oldBox = new SecretBox(key);
    const sealed = oldBox.seal('secret');
    const rotated = new SecretBox(randomBytes(32), key);
    expect(rotated.open(sealed)).toBe('secret');
    expect(rotated.needsReseal(sealed)).toBe(true);
    expect(rotated.needsReseal(rotated.seal('secret'))).toBe(false);
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/unknown key/);
  });
});
