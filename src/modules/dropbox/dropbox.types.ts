import type { Readable } from 'node:stream';

/** A file or folder as the rest of the product sees it: no SDK types past the gateway. */
export interface DropboxEntry {
  kind: 'file' | 'folder';
  id: string;
  name: string;
  pathLower: string;
  pathDisplay: string;
  /** Files only. */
  rev?: string;
  size?: number;
  contentHash?: string;
  serverModified?: string;
  /** Files only: false for what Dropbox lists but won't hand out (cloud documents: `is_downloadable: false`). */
  downloadable?: boolean;
  /** Folders only: set when the folder is a shared folder. */
  sharedFolderId?: string;
}

export interface DropboxAccountInfo {
  accountId: string;
  email: string;
  displayName: string;
}

export interface TemporaryLink {
  link: string;
  entry: DropboxEntry;
}

/** Where an interrupted upload stands; saved by the caller after every chunk so a retry resumes there. */
export interface UploadCheckpoint {
  sessionId: string;
  offset: number;
  /** SHA-256 of each finished 4 MiB block (content_hash state). */
  blockDigests: string[];
}

export interface UploadSource {
  size: number;
  /** A stream of the file from `offset` to the end. */
  open(offset: number): Readable;
  /**
   * Reads up to `buffer.length` bytes at `position` into `buffer` (a file on disk can). When present, the gateway
   * reads each chunk straight into one reused buffer instead of copying many small stream buffers.
   */
  read?(buffer: Buffer, position: number): Promise<number>;
  /** Releases what `read` opened. */
  close?(): Promise<void>;
}

/** One revision of a file (files/list_revisions), newest first. */
export interface DropboxRevision {
  rev: string;
  size: number;
  contentHash: string | null;
  serverModified: string;
}

export interface UploadOptions {
  /** `{ update: rev }` writes a new revision of the file at that revision (same id), else a conflict. */
  mode?: 'add' | 'overwrite' | { update: string };
  autorename?: boolean;
  checkpoint?: UploadCheckpoint | null;
  onCheckpoint?: (checkpoint: UploadCheckpoint | null) => Promise<void>;
  /** Called after each chunk Dropbox accepted, with the bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Sharing (the collaboration pipeline): shared folders, batch copies, members
// ---------------------------------------------------------------------------------------------------------------

export interface SharedFolderInfo {
  sharedFolderId: string;
  /** The owner's view of the folder's path; absent for members who haven't mounted it. */
  pathDisplay?: string;
  /** Dropbox's web page of the folder ("open in Dropbox"). */
  previewUrl?: string;
}

export interface CopyEntry {
  /** A path or `id:…`. */
  fromPath: string;
  toPath: string;
}

/** The outcome of one entry of a batch copy, in the order of the request. */
export type CopyEntryResult = { ok: true; entry: DropboxEntry } | { ok: false; tags: string[] };

/** A batch copy either finished at once or runs as a job to poll with its id. */
export type CopyBatchLaunch = { done: true; results: CopyEntryResult[] } | { done: false; asyncJobId: string };

export type FolderAccessLevel = 'editor' | 'viewer';

/** Who is in a shared folder: `joined` accepted (users), `invited` are still pending (invitees). */
export interface FolderMembers {
  joined: Array<{ accountId: string; email: string; displayName: string; accessLevel: string }>;
  invited: Array<{ email: string; accessLevel: string }>;
}

/** A member to remove: by email (invitees and users) or by Dropbox account id. */
export type FolderMemberSelector = { email: string } | { accountId: string };

/** One Dropbox call as the gateway saw it, for metrics (never arguments or tokens). */
export interface DropboxCallEvent {
  route: string;
  kind: 'read' | 'write';
  /** HTTP status of Dropbox's answer; 0 when Dropbox could not be reached. */
  status: number;
  durationMs: number;
}

export type DropboxCallObserver = (event: DropboxCallEvent) => void;
