import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * AES-256-GCM for secrets at rest (Dropbox refresh tokens). The output names the key it was sealed with
 * (a short fingerprint), so after a key rotation old values still open with ENCRYPTION_KEY_PREVIOUS and are
 * re-sealed with the new key the next time they are written.
 * Format: v1.<key fingerprint>.<iv>.<tag>.<ciphertext>, each part base64url.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly currentFingerprint: string;

  constructor(currentKey: Buffer, previousKey?: Buffer) {
    if (currentKey.length !== 32) throw new Error('encryption key must be 32 bytes');
    this.currentFingerprint = SecretBox.fingerprint(currentKey);
    this.keys = new Map([[this.currentFingerprint, currentKey]]);
    if (previousKey) this.keys.set(SecretBox.fingerprint(previousKey), previousKey);
  }

  static fingerprint(key: Buffer): string {
    return createHash('sha256').update(key).digest('base64url').slice(0, 8);
  }

  seal(plaintext: string, associatedData = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentFingerprint)!, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentFingerprint, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string, associatedData = ''): string {
    const [version, fingerprint, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || !ciphertext) throw new Error('not a sealed secret');
    const key = this.keys.get(fingerprint);
    if (!key) throw new Error('sealed with an unknown key: set ENCRYPTION_KEY_PREVIOUS to the key it was sealed with');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The current key's fingerprint, as written into every value sealed now. */
  get currentKeyFingerprint(): string {
    return this.currentFingerprint;
  }

  /** True when the value was sealed with a key other than the current one and should be re-sealed. */
  needsReseal(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentFingerprint;
  }
}
