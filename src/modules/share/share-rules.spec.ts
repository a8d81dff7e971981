import {
  defaultDownloads,
  downloadsOf,
  expiresAtFor,
  linkStatus,
  looksLikeToken,
  newShareToken,
  TOKEN_BYTES,
} from './share-rules';

describe('share rules', () => {
  it('makes tokens of at least 128 random bits, base64url, all different', () => {
    const tokens = new Set(Array.from({ length: 5000 }, () => newShareToken()));
    expect(tokens.size).toBe(5000);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(Buffer.from(token, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
      expect(looksLikeToken(token)).toBe(true);
    }
    expect(TOKEN_BYTES * 8).toBeGreaterThanOrEqual(128);
    // Every bit position varies: no fixed prefix or counter hides in the token.
    const bytes = [...tokens].map((t) => Buffer.from(t, 'base64url'));
    for (let bit = 0; bit < TOKEN_BYTES * 8; bit += 1) {
      const ones = bytes.filter((b) => (b[bit >> 3] >> (bit & 7)) & 1).length;
      expect(ones).toBeGreaterThan(2500 - 300);
      expect(ones).toBeLessThan(2500 + 300);
    }
  });

  it('refuses token shapes that cannot be tokens', () => {
    for (const bad of ['', 'short', '../../etc/passwd', 'a'.repeat(65), 'has space in it here'])
      expect(looksLikeToken(bad)).toBe(false);
  });

  it('expires after 7, 30 or 90 days, or never', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(expiresAtFor('7d', now)?.toISOString()).toBe('2026-01-08T00:00:00.000Z');
    expect(expiresAtFor('30d', now)?.toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(expiresAtFor('90d', now)?.toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(expiresAtFor('never', now)).toBeNull();
  });

  it('enables a category for several tracks only when every track enables it', () => {
    expect(defaultDownloads(['preview'])).toEqual({ bounce: true, project: false, stem: false });
    expect(defaultDownloads(['collaborative', 'released'])).toEqual({ bounce: true, project: false, stem: true });
    expect(defaultDownloads(['collaborative', 'private'])).toEqual({ bounce: false, project: false, stem: false });
  });
});

describe('link status', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('is revoked before expired, and expired from the moment expiresAt is reached', () => {
    expect(linkStatus({ revokedAt: now, expiresAt: new Date(now.getTime() - 1) }, now)).toBe('revoked');
    expect(linkStatus({ revokedAt: null, expiresAt: now }, now)).toBe('expired');
    expect(linkStatus({ revokedAt: null, expiresAt: new Date(now.getTime() + 1) }, now)).toBe('active');
    expect(linkStatus({ revokedAt: null, expiresAt: null }, now)).toBe('active');
  });

  it('reads the download permission from the three columns', () => {
    expect(downloadsOf({ downloadBounce: true, downloadProject: false, downloadStem: true })).toEqual({
      bounce: true,
      project: false,
      stem: true,
    });
  });
});
