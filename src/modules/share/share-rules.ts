import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_DOWNLOADS, FILE_CATEGORIES, FileCategory, SharingStatus } from '../files/file-categories';

/** 18 random bytes = 144 bits, 24 base64url characters (no padding). */
export const TOKEN_BYTES = 18;

export function newShareToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * What PostgreSQL and Redis know a link by: SHA-256 of the token, hex. A database dump or a Redis SCAN then gives
 * no working link (the token itself is kept sealed, for its owner to copy). The migration computes the same value
 * in SQL: encode(sha256(convert_to(token, 'UTF8')), 'hex').
 */
export function shareTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The sealed token is bound to its share's row: moved to another row it does not open. */
export function shareTokenAad(shareId: string): string {
  return `share-token:${shareId}`;
}

/** Cheap shape check before anything touches Redis or PostgreSQL. */
export function looksLikeToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{16,64}$/.test(token);
}

export const EXPIRY_CHOICES = ['7d', '30d', '90d', 'never'] as const;
export type ExpiryChoice = (typeof EXPIRY_CHOICES)[number];
export const EXPIRY_LABELS: Record<ExpiryChoice, string> = {
  '7d': '7 days',
  '30d': '30 days',
  '90d': '90 days',
  never: 'Never',
};

const DAY_MS = 24 * 3600_000;

/** NULL means never (not a far-away date or epoch 0): "never" stays never whatever the clock says. */
export function expiresAtFor(choice: ExpiryChoice, now: Date): Date | null {
  if (choice === 'never') return null;
  return new Date(now.getTime() + Number.parseInt(choice, 10) * DAY_MS);
}

export type Downloads = Record<FileCategory, boolean>;

/** For several tracks a category is enabled only if every track's sharing status enables it. */
export function defaultDownloads(statuses: SharingStatus[]): Downloads {
  const result = { bounce: true, project: true, stem: true };
  for (const category of FILE_CATEGORIES)
    result[category] = statuses.length > 0 && statuses.every((s) => DEFAULT_DOWNLOADS[s][category]);
  return result;
}

/** A share link's or a recipient link's state, on every page and in the API. */
export type LinkStatus = 'active' | 'expired' | 'revoked';

/**
 * Revoked wins over expired; a link expires at its `expiresAt` (not one moment after), like the access check that
 * answers 410 (ShareAccessService.assertOpen).
 */
export function linkStatus(link: { revokedAt?: Date | null; expiresAt?: Date | null }, now: Date): LinkStatus {
  if (link.revokedAt) return 'revoked';
  return link.expiresAt && link.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

/** One word for each state, the same on every page (the API's `status` keeps its values). */
export const LINK_STATUS_LABELS: Record<LinkStatus, string> = {
  active: 'active',
  expired: 'expired',
  revoked: 'disabled',
};

/** A share's per-category download permission, from its three columns. */
export function downloadsOf(share: {
  downloadBounce: boolean;
  downloadProject: boolean;
  downloadStem: boolean;
}): Downloads {
  return { bounce: share.downloadBounce, project: share.downloadProject, stem: share.downloadStem };
}
