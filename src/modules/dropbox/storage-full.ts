import type { DropboxSpaceUsage } from './dropbox.errors';

const KiB = 1024;
const MiB = KiB * 1024;
const GiB = MiB * 1024;

/** Sizes the way Dropbox's own pages show an account's space: binary units, at most one decimal ("1.9 GB", "2 GB"). */
export function formatSpace(bytes: number): string {
  const [unit, size] = bytes >= GiB ? ['GB', GiB] : bytes >= MiB ? ['MB', MiB] : ['KB', KiB];
  const value = Math.floor((bytes / size) * 10) / 10;
  return `${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/** What the producer reads wherever a full Dropbox stopped something (upload row, collaboration panel, Share tab). */
export function storageFullMessage(usage?: DropboxSpaceUsage | null): string {
  const figures = usage ? ` (${formatSpace(usage.usedBytes)} of ${formatSpace(usage.allocatedBytes)} used)` : '';
  return `Your Dropbox is full${figures}: free some space, then Retry`;
}
