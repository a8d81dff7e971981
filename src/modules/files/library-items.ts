/** A track's library as data: its lines (imported or found in Dropbox) and the pure mappings that build them. */
import { UNSERVABLE_NOTE } from '../dropbox/dropbox.errors';
import type { DropboxEntry } from '../dropbox/dropbox.types';
import { FileCategory, formatLabel, inferCategory } from './file-categories';
import { TrackFile } from './entities/track-file.entity';
import { audioInfoOf, AudioInfo } from './views';

/** One line of a track's library: an imported file, or a file found in the track's Dropbox folder. */
export interface LibraryItem {
  /** The TrackFile id for imported files; absent for files not yet imported. */
  id: string | null;
  imported: boolean;
  dropboxId: string;
  name: string;
  category: FileCategory;
  format: string;
  size: number;
  /** Path inside the track folder, e.g. "Stems/kick.wav". */
  relativePath: string;
  status: 'ready' | 'missing';
  /** Set when Dropbox lists the file but won't serve it: "can't be shared (Dropbox can't serve it)". */
  cantServe: string | null;
  isMaster: boolean;
  isPackage: boolean;
  audio: AudioInfo | null;
  /** When the file's current revision was written in Dropbox. */
  modifiedAt: string | null;
}

/** One revision of a library file, from Dropbox (files/list_revisions), newest first. */
export interface FileRevisionView {
  rev: string;
  size: number;
  contentHash: string | null;
  modifiedAt: string;
  current: boolean;
}

export interface Library {
  trackId: string;
  folderPath: string | null;
  /** The track's Dropbox folder itself is gone (deleted or moved out of reach). */
  folderMissing: boolean;
  items: LibraryItem[];
}

/** A file of the track's Dropbox folder, as the recursive listing found it. */
export interface Found {
  entry: DropboxEntry;
  relativePath: string;
  folders: string[];
  isPackage: boolean;
  size: number;
}

/** A path relative to a folder (case-insensitively, as Dropbox compares), or null outside it. */
export function relative(path: string, folder: string): string | null {
  const lower = path.toLowerCase();
  const base = folder.toLowerCase().replace(/\/+$/, '');
  return lower.startsWith(`${base}/`) ? path.slice(base.length + 1) : null;
}

/** Brings an imported file's row up to date with what the folder listing shows of it. */
export function refreshFromListing(file: TrackFile, seen: Found): void {
  if (file.status !== 'ready') file.status = 'ready';
  if (file.dropboxPath !== seen.entry.pathDisplay) file.dropboxPath = seen.entry.pathDisplay;
  if (file.name !== seen.entry.name) file.name = seen.entry.name;
  if ((seen.entry.rev ?? null) !== (file.rev ?? null)) file.rev = seen.entry.rev ?? null;
  if (seen.size !== file.size) file.size = seen.size;
  if ((seen.entry.contentHash ?? null) !== (file.contentHash ?? null))
    file.contentHash = seen.entry.contentHash ?? null;
  const modified = seen.entry.serverModified ? new Date(seen.entry.serverModified) : null;
  if (modified && file.modifiedAt?.getTime() !== modified.getTime()) file.modifiedAt = modified;
  // The listing tells cloud documents apart; restricted content and banned links only show when served.
  if (seen.entry.downloadable === false) file.unservable = 'unsupported_file';
  else if (file.unservable === 'unsupported_file') file.unservable = null;
}

export function importedItem(file: TrackFile, relativePath: string): LibraryItem {
  return {
    id: file.id,
    imported: true,
    dropboxId: file.dropboxId,
    name: file.name,
    category: file.category,
    format: formatLabel(file.name, file.isPackage),
    size: file.size,
    relativePath,
    status: file.status,
    cantServe: file.unservable ? UNSERVABLE_NOTE : null,
    isMaster: file.isMaster,
    isPackage: file.isPackage,
    audio: audioInfoOf(file),
    modifiedAt: file.modifiedAt?.toISOString() ?? null,
  };
}

export function foundItem(f: Found): LibraryItem {
  return {
    id: null,
    imported: false,
    dropboxId: f.entry.id,
    name: f.entry.name,
    category: inferCategory(f.entry.name, f.folders),
    format: formatLabel(f.entry.name, f.isPackage),
    size: f.size,
    relativePath: f.relativePath,
    status: 'ready',
    cantServe: f.entry.downloadable === false ? UNSERVABLE_NOTE : null,
    isMaster: false,
    isPackage: f.isPackage,
    audio: null,
    modifiedAt: f.entry.serverModified ?? null,
  };
}
