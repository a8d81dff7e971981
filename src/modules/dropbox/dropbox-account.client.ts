import { Logger } from '@nestjs/common';
import type { files } from 'dropbox';
import type { Tuning } from '../../config/tuning';
import {
  DropboxError,
  DropboxFolderUnreachable,
  DropboxNotFound,
  DropboxPermanent,
  DropboxSpaceUsage,
  DropboxStorageFull,
  DropboxTransient,
} from './dropbox.errors';
import { DropboxAccountCalls, DropboxTransport } from './dropbox-calls';
import { fileEntry, toEntry } from './dropbox-entries';
import { DropboxSharing } from './dropbox-sharing';
import { DropboxUploads } from './dropbox-uploads';
import type {
  CopyBatchLaunch,
  CopyEntry,
  CopyEntryResult,
  DropboxEntry,
  DropboxRevision,
  FolderAccessLevel,
  FolderMembers,
  FolderMemberSelector,
  SharedFolderInfo,
  TemporaryLink,
  UploadOptions,
  UploadSource,
} from './dropbox.types';

/**
 * One connected account's Dropbox, as the rest of the app uses it: files and folders here, uploads and sharing in
 * their own files, every call through the account's rules (dropbox-calls.ts).
 */
export class DropboxAccountClient {
  private readonly logger = new Logger('DropboxGateway');
  private readonly calls: DropboxAccountCalls;
  private readonly uploads: DropboxUploads;
  private readonly sharing: DropboxSharing;

  constructor(
    readonly connectionId: string,
    readonly accountId: string,
    private readonly transport: DropboxTransport,
    policy: Tuning['dropbox'],
    uploadChunkBytes: number,
  ) {
    this.calls = new DropboxAccountCalls(connectionId, accountId, transport, policy);
    this.uploads = new DropboxUploads(this.calls, uploadChunkBytes);
    this.sharing = new DropboxSharing(this.calls);
  }

  async getMetadata(pathOrId: string): Promise<DropboxEntry> {
    const meta = await this.calls.call('files/get_metadata', 'read', (dbx) => dbx.filesGetMetadata({ path: pathOrId }));
    const entry = toEntry(meta as files.FileMetadataReference);
    if (!entry) throw new DropboxPermanent(`${pathOrId} is deleted`, ['path', 'not_found']);
    return entry;
  }

  /**
   * The folder's path now, found by id (wherever the producer moved or renamed it). A folder Dropbox answers without
   * a path — outside the mounted tree, e.g. in a team space — is a DropboxFolderUnreachable: writing to "" + "/…"
   * would land at the root of the Dropbox.
   */
  async folderPath(folderId: string): Promise<string> {
    const folder = await this.getMetadata(folderId);
    if (!folder.pathDisplay) throw new DropboxFolderUnreachable('files/get_metadata');
    return folder.pathDisplay;
  }

  /** Whether Dropbox says the account's email is verified (the producer's re-check); remembered on the connection. */
  async checkEmailVerified(): Promise<boolean> {
    const account = await this.calls.call('users/get_current_account', 'read', (dbx) => dbx.usersGetCurrentAccount());
    await this.transport.tokens.recordEmailUnverified(this.connectionId, !account.email_verified);
    return account.email_verified;
  }

  /** Space used and allocated (the team's allocation for a team account). */
  spaceUsage(): Promise<DropboxSpaceUsage> {
    return this.calls.spaceUsage();
  }

  /**
   * The error for a full account, with the figures when Dropbox tells them, remembered on the connection so the
   * dashboard can say so until a write succeeds. Also for copy entries refused with `insufficient_quota`.
   */
  storageFull(tags: string[], route?: string): Promise<DropboxStorageFull> {
    return this.calls.describeStorageFull(new DropboxStorageFull('Your Dropbox is full', tags, route));
  }

  async createFolder(path: string): Promise<DropboxEntry> {
    const result = await this.calls.call('files/create_folder_v2', 'write', (dbx) =>
      dbx.filesCreateFolderV2({ path, autorename: false }),
    );
    return toEntry({ ...result.metadata, '.tag': 'folder' } as files.FolderMetadataReference)!;
  }

  /** Every entry under `path` (recursive if asked), following cursors; a `reset` cursor restarts the listing. */
  async listFolder(path: string, options: { recursive?: boolean } = {}): Promise<DropboxEntry[]> {
    for (let restart = 0; restart < 3; restart += 1) {
      const entries: DropboxEntry[] = [];
      let page = await this.calls.call('files/list_folder', 'read', (dbx) =>
        dbx.filesListFolder({ path, recursive: options.recursive ?? false, limit: 2000, include_deleted: false }),
      );
      let reset = false;
      for (;;) {
        for (const meta of page.entries) {
          const entry = toEntry(meta);
          if (entry) entries.push(entry);
        }
        if (!page.has_more) return entries;
        const cursor = page.cursor;
        try {
          page = await this.calls.call('files/list_folder/continue', 'read', (dbx) =>
            dbx.filesListFolderContinue({ cursor }),
          );
        } catch (err) {
          if (err instanceof DropboxPermanent && err.tags.includes('reset')) {
            reset = true;
            break;
          }
          throw err;
        }
      }
      if (!reset) return entries;
      this.logger.warn({ path }, 'Dropbox reset the listing cursor; listing again');
    }
    throw new DropboxTransient(`listing ${path} kept being reset`, ['reset']);
  }

  /** Deletes a file or folder; one that is already gone counts as deleted (the call is repeated by retried jobs). */
  async deleteEntry(pathOrId: string): Promise<'deleted' | 'not_found'> {
    try {
      await this.calls.call('files/delete_v2', 'write', (dbx) => dbx.filesDeleteV2({ path: pathOrId }));
      return 'deleted';
    } catch (err) {
      if (err instanceof DropboxNotFound || (err instanceof DropboxError && err.tags.includes('not_found')))
        return 'not_found';
      throw err;
    }
  }

  /** The file's revisions, newest first (the current one included). */
  async listRevisions(pathOrId: string, limit = 20): Promise<DropboxRevision[]> {
    const result = await this.calls.call('files/list_revisions', 'read', (dbx) =>
      dbx.filesListRevisions({ path: pathOrId, mode: { '.tag': pathOrId.startsWith('id:') ? 'id' : 'path' }, limit }),
    );
    return result.entries.map((e) => ({
      rev: e.rev,
      size: e.size,
      contentHash: e.content_hash ?? null,
      serverModified: e.server_modified,
    }));
  }

  /** Makes an earlier revision current again: a new revision of the same file. */
  async restore(pathOrId: string, rev: string): Promise<DropboxEntry> {
    const meta = await this.calls.call('files/restore', 'write', (dbx) => dbx.filesRestore({ path: pathOrId, rev }));
    return fileEntry(meta);
  }

  /** Moves a file or folder (followed by id, so it keeps its id); a taken name is a DropboxConflict. */
  async move(fromPathOrId: string, toPath: string): Promise<DropboxEntry> {
    const result = await this.calls.call('files/move_v2', 'write', (dbx) =>
      dbx.filesMoveV2({ from_path: fromPathOrId, to_path: toPath, autorename: false, allow_ownership_transfer: false }),
    );
    return toEntry(result.metadata as files.FileMetadataReference | files.FolderMetadataReference)!;
  }

  /** A fresh 4-hour link; callers normally go through TemporaryLinksService, which caches it. */
  async temporaryLink(pathOrId: string): Promise<TemporaryLink> {
    const result = await this.calls.call('files/get_temporary_link', 'read', (dbx) =>
      dbx.filesGetTemporaryLink({ path: pathOrId }),
    );
    return { link: result.link, entry: fileEntry(result.metadata) };
  }

  // Uploads (dropbox-uploads.ts) ---------------------------------------------------------------------------------

  /**
   * Streams a file of any size into Dropbox: one `files/upload` when it fits a chunk, otherwise an upload session
   * resumable from the checkpoints handed to `onCheckpoint`; the content hash must match Dropbox's.
   */
  upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<DropboxEntry> {
    return this.uploads.upload(path, source, options);
  }

  // Sharing (dropbox-sharing.ts), for the collaboration pipeline -------------------------------------------------

  /** Creates the folder at `path` if missing and shares it; a folder already shared answers with its id. */
  shareFolder(path: string): Promise<SharedFolderInfo> {
    return this.sharing.shareFolder(path);
  }

  /** A shared folder as Dropbox knows it now, by id; no `pathDisplay` when it is outside the caller's tree. */
  sharedFolder(sharedFolderId: string): Promise<SharedFolderInfo> {
    return this.sharing.sharedFolder(sharedFolderId);
  }

  /** Starts a batch copy (1 to 1,000 entries, nothing renamed: a taken target is a `…/to/conflict/…` failure). */
  startCopyBatch(entries: CopyEntry[], options: { intoSharedFolder?: string } = {}): Promise<CopyBatchLaunch> {
    return this.sharing.startCopyBatch(entries, options);
  }

  /** Polls a batch copy until it is done. */
  waitForCopyBatch(asyncJobId: string): Promise<CopyEntryResult[]> {
    return this.sharing.waitForCopyBatch(asyncJobId);
  }

  /** Invites people to a shared folder in one call; a refused address is on the error's `refusedMember`. */
  addFolderMembers(sharedFolderId: string, emails: string[], accessLevel: FolderAccessLevel): Promise<void> {
    return this.sharing.addFolderMembers(sharedFolderId, emails, accessLevel);
  }

  /** Everyone in a shared folder: joined users and pending invitees. */
  listFolderMembers(sharedFolderId: string): Promise<FolderMembers> {
    return this.sharing.listFolderMembers(sharedFolderId);
  }

  /** Takes someone out of a shared folder; someone already gone counts as removed. */
  removeFolderMember(sharedFolderId: string, member: FolderMemberSelector): Promise<'removed' | 'not_a_member'> {
    return this.sharing.removeFolderMember(sharedFolderId, member);
  }
}
