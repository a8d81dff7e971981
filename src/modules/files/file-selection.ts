import { UUID_SOURCE } from '../../common/ids';

/**
 * The file selection format, one home for the Share tab, the share API and collaboration: each item is
 * `f:<TrackFile id>` (an imported file) or `d:<Dropbox id>` (a file found in the track's folder, imported when
 * the selection is used; Dropbox ids look like `id:…`).
 */
export const SELECTION_PATTERN = new RegExp(`^(?:f:${UUID_SOURCE}|d:id:[A-Za-z0-9_-]{1,100})$`);

export type SelectedFile = { kind: 'imported'; fileId: string } | { kind: 'dropbox'; dropboxId: string };

/** What a selection item names, or null for anything else. */
export function parseSelection(item: string): SelectedFile | null {
  if (!SELECTION_PATTERN.test(item)) return null;
  return item.startsWith('f:')
    ? { kind: 'imported', fileId: item.slice(2) }
    : { kind: 'dropbox', dropboxId: item.slice(2) };
}

/** The selection item of a library line: `f:` for an imported file, `d:` for one found in Dropbox. */
export function selectionOf(item: { imported: boolean; id: string | null; dropboxId: string }): string {
  return item.imported && item.id ? `f:${item.id}` : `d:${item.dropboxId}`;
}

export function importedSelection(fileId: string): string {
  return `f:${fileId}`;
}
