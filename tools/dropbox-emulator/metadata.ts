import { isDownloadable } from './serving';
import type { files, sharing } from 'dropbox';
import { Change, Entry, FileEntry, FolderEntry, Namespace } from './namespace';
import { nameOf, parentOf } from './paths';
import { SharedFolderRecord } from './shared-folders';
import { EmulatorState } from './state';

/**
 * Wire shapes of results, typed with the SDK's own declarations so that drift from what the SDK expects is a
 * compile error. Where a result field is declared as the polymorphic `Metadata`, entries carry a `.tag`;
 * where it is declared `FileMetadata` or `FolderMetadata`, they don't.
 */

/** An entry outside the caller's mounted tree comes without paths, as Dropbox's do. */
function pathsOf(namespace: Namespace, entry: Entry): { path_lower?: string; path_display?: string } {
  return namespace.isOutsideTree(entry) ? {} : { path_lower: entry.pathLower, path_display: entry.pathDisplay };
}

export function fileMetadata(namespace: Namespace, file: FileEntry): files.FileMetadata {
  const parentShare = namespace.sharedFolderAt(parentOf(file.pathLower));
  return {
    name: nameOf(file.pathDisplay),
    ...pathsOf(namespace, file),
    id: file.id,
    client_modified: file.clientModified,
    server_modified: file.serverModified,
    rev: file.rev,
    size: file.size,
    is_downloadable: isDownloadable(file),
    content_hash: file.contentHash,
    ...(parentShare && {
      parent_shared_folder_id: parentShare,
      sharing_info: { read_only: false, parent_shared_folder_id: parentShare, modified_by: file.modifiedBy },
    }),
  };
}

export function folderMetadata(namespace: Namespace, folder: FolderEntry): files.FolderMetadata {
  const parentShare = namespace.sharedFolderAt(parentOf(folder.pathLower));
  const sharing = folder.sharedFolderId || parentShare;
  return {
    name: nameOf(folder.pathDisplay),
    ...pathsOf(namespace, folder),
    id: folder.id,
    ...(parentShare && { parent_shared_folder_id: parentShare }),
    ...(folder.sharedFolderId && { shared_folder_id: folder.sharedFolderId }),
    ...(sharing && {
      sharing_info: {
        read_only: false,
        ...(parentShare && { parent_shared_folder_id: parentShare }),
        ...(folder.sharedFolderId && { shared_folder_id: folder.sharedFolderId }),
        traverse_only: false,
        no_access: false,
      },
    }),
  };
}

export type TaggedMetadata =
  files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference;

export function taggedMetadata(namespace: Namespace, entry: Entry): TaggedMetadata {
  return entry.tag === 'file'
    ? { '.tag': 'file', ...fileMetadata(namespace, entry) }
    : { '.tag': 'folder', ...folderMetadata(namespace, entry) };
}

/** A change for list_folder/continue: the path's state now, or `deleted`. */
export function changeMetadata(namespace: Namespace, change: Change): TaggedMetadata {
  const entry = namespace.byPathLower(change.pathLower);
  if (entry) return taggedMetadata(namespace, entry);
  return {
    '.tag': 'deleted',
    name: nameOf(change.pathDisplay),
    path_lower: change.pathLower,
    path_display: change.pathDisplay,
  };
}

/**
 * SharedFolderMetadata as the calling account sees it; `folder_id` is in the API spec but not yet in the types of
 * SDK 10.34.
 */
export function sharedFolderMetadata(
  state: EmulatorState,
  folder: SharedFolderRecord,
  viewerAccountId: string,
  publicUrl: string,
): sharing.SharedFolderMetadata & { folder_id: string } {
  const owner = state.account(folder.ownerAccountId);
  const ownerNamespace = state.namespace(folder.ownerAccountId);
  const entry = ownerNamespace.find({ kind: 'id', id: folder.folderId });
  const accessType = folder.members.find((member) => member.accountId === viewerAccountId)?.accessType ?? 'viewer';
  const isOwner = viewerAccountId === folder.ownerAccountId;
  return {
    access_type: { '.tag': accessType },
    is_inside_team_folder: false,
    is_team_folder: false,
    owner_display_names: owner ? [owner.display_name] : [],
    // Only where it is mounted in the caller's tree: moved into a team space, the folder has no path for them.
    ...(isOwner && entry && pathsOf(ownerNamespace, entry)),
    name: entry ? nameOf(entry.pathDisplay) : '',
    policy: {
      acl_update_policy: { '.tag': 'editors' },
      shared_link_policy: { '.tag': 'anyone' },
      viewer_info_policy: { '.tag': 'enabled' },
    },
    // Dropbox's web page of the folder; the emulator serves a small browse page at the same path (`/scl/fo/<id>`).
    preview_url: `${publicUrl}/scl/fo/${folder.id}`,
    shared_folder_id: folder.id,
    time_invited: folder.createdAt,
    access_inheritance: { '.tag': 'inherit' },
    folder_id: folder.folderId,
  };
}
