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
export const EXPIRY_LABELS: Record<ExpiryChoice, string> = { '7d': '7 days', '30d': '30 days', '90d': '90 days', never: 'Never' };

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
  for (const category of FILE_CATEGORIES) result[category] = statuses.length > 0 && statuses.every((s) => DEFAULT_DOWNLOADS[s][category]);
  return result;
}

export const CATEGORY_LABELS: Record<FileCategory, string> = { bounce: 'Bounces', project: 'Projects', stem: 'Stems' };

const AUDIO_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.wave': 'audio/wav',
  '.bwf': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.aif': 'audio/aiff',
  '.aiff': 'audio/aiff',
  '.aifc': 'audio/aiff',
  '.m4a': 'audio/mp4',
  '.alac': 'audio/mp4',
  '.aac': 'audio/aac',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
};

export function audioContentType(extension: string): string {
  return AUDIO_TYPES[extension] ?? 'application/octet-stream';
}
