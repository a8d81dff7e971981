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
}

export interface UploadOptions {
  mode?: 'add' | 'overwrite';
  autorename?: boolean;
  checkpoint?: UploadCheckpoint | null;
  onCheckpoint?: (checkpoint: UploadCheckpoint | null) => Promise<void>;
  /** Called after each chunk Dropbox accepted, with the bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
}
