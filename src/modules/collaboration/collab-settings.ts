import { CATEGORY_LABELS, FILE_CATEGORIES, FileCategory } from '../files/file-categories';
import type { DisabledDownloadsChoice } from './dto/start-collaboration.dto';
import type { CollabExpiry, CollabPipeline } from './entities/collab-pipeline.entity';

const DAY_MS = 24 * 3600_000;

/** A notice is shown this long before a share's end. */
export const ENDING_SOON_MS = 3 * DAY_MS;

export const COLLAB_EXPIRY_LABELS: Record<CollabExpiry, string> = {
  '7d': '7 days',
  '30d': '30 days',
  '90d': '90 days',
  never: 'Never',
};

export type CollabDownloads = Record<FileCategory, boolean>;

/** What a start request may say about the share's settings (all optional: the defaults keep the old behaviour). */
export interface CollabSettingsInput {
  expiry?: CollabExpiry;
  downloads?: Partial<Record<FileCategory, boolean | undefined>>;
  disabledDownloads?: DisabledDownloadsChoice;
}

export interface CollabSettings {
  expiry: CollabExpiry;
  downloads: CollabDownloads;
  includeDisabled: boolean;
}

/** NULL means never (not a far-away date): "never" stays never whatever the clock says. */
export function collabExpiresAt(choice: CollabExpiry, from: Date): Date | null {
  return choice === 'never' ? null : new Date(from.getTime() + Number.parseInt(choice, 10) * DAY_MS);
}

/** Omitted categories are downloadable: a Dropbox folder member could always download everything in it. */
export function settingsFrom(input: CollabSettingsInput): CollabSettings {
  const downloads = { bounce: true, project: true, stem: true };
  for (const category of FILE_CATEGORIES) {
    const given = input.downloads?.[category];
    if (typeof given === 'boolean') downloads[category] = given;
  }
  return { expiry: input.expiry ?? 'never', downloads, includeDisabled: input.disabledDownloads === 'include' };
}

export function downloadsOf(
  p: Pick<CollabPipeline, 'downloadBounce' | 'downloadProject' | 'downloadStem'>,
): CollabDownloads {
  return { bounce: p.downloadBounce, project: p.downloadProject, stem: p.downloadStem };
}

export function applySettings(p: CollabPipeline, settings: CollabSettings, now: Date): void {
  p.expiry = settings.expiry;
  p.expiresAt = collabExpiresAt(settings.expiry, now);
  p.downloadBounce = settings.downloads.bounce;
  p.downloadProject = settings.downloads.project;
  p.downloadStem = settings.downloads.stem;
  p.includeDisabled = settings.includeDisabled;
}

/** Why a file stays out of the folder under these settings, or null when it goes in. */
export function leftOutReason(
  file: { name: string; category: FileCategory },
  downloads: CollabDownloads,
  includeDisabled: boolean,
): string | null {
  if (downloads[file.category] || includeDisabled) return null;
  return `${file.name} was left out: downloads of ${CATEGORY_LABELS[file.category].toLowerCase()} are off for this share, and collaborators can download every file in a Dropbox folder.`;
}

/** "8 December 2026" (UTC), for "Access ends on …". */
export function formatDay(date: Date): string {
  return date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}
