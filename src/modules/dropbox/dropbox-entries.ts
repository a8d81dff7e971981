import type { files, sharing } from 'dropbox';
import { tagChain } from './dropbox.errors';
import type { CopyEntryResult, DropboxEntry, SharedFolderInfo } from './dropbox.types';

type Metadata =
  files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference | files.FileMetadata;

/**
 * Dropbox metadata as the app's entry; null for a deleted one. An entry outside the caller's mounted tree (a team
 * space) has no path: `pathLower`/`pathDisplay` are then '' — never write under them (see `folderPath`).
 */
export function toEntry(meta: Metadata): DropboxEntry | null {
  const tag = (meta as { '.tag'?: string })['.tag'] ?? ('rev' in meta ? 'file' : 'folder');
  if (tag === 'deleted') return null;
  if (tag === 'file') {
    const f = meta as files.FileMetadata;
    return {
      kind: 'file',
      id: f.id,
      name: f.name,
      pathLower: f.path_lower ?? '',
      pathDisplay: f.path_display ?? '',
      rev: f.rev,
      size: f.size,
      contentHash: f.content_hash,
      serverModified: f.server_modified,
      downloadable: f.is_downloadable !== false,
    };
  }
  const d = meta as files.FolderMetadata;
  return {
    kind: 'folder',
    id: d.id,
    name: d.name,
    pathLower: d.path_lower ?? '',
    pathDisplay: d.path_display ?? '',
    sharedFolderId: d.sharing_info?.shared_folder_id ?? d.shared_folder_id,
  };
}

/** A file's metadata (results declared `FileMetadata` carry no `.tag`). */
export function fileEntry(meta: files.FileMetadata): DropboxEntry {
  return toEntry({ ...meta, '.tag': 'file' } as files.FileMetadataReference)!;
}

export function toSharedFolder(meta: sharing.SharedFolderMetadata): SharedFolderInfo {
  // `path_display` is newer than the SDK's types; `path_lower` is the fallback every version sends to the owner.
  const pathDisplay = (meta as { path_display?: string }).path_display ?? meta.path_lower ?? undefined;
  return { sharedFolderId: meta.shared_folder_id, pathDisplay, previewUrl: meta.preview_url };
}

export function toCopyResult(entry: files.RelocationBatchResultEntry): CopyEntryResult {
  if (entry['.tag'] === 'success') {
    const copied = toEntry((entry as files.RelocationBatchResultEntrySuccess).success as files.FileMetadataReference);
    if (copied) return { ok: true, entry: copied };
  }
  return { ok: false, tags: tagChain((entry as { failure?: unknown }).failure) };
}
