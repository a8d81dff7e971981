import { DropboxContentHasher } from './content-hash';
import { newSessionId } from './ids';

export interface UploadSessionRecord {
  id: string;
  accountId: string;
  /** The session's file in the blob store's session area. */
  file: string;
  offset: number;
  closed: boolean;
  createdAt: number;
}

/** Dropbox keeps an upload session for 7 days. */
const SESSION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Upload sessions. The running content hash of a session lives in memory only; after a restart (or a failed
 * append) it is recomputed from the session file when the session is finished.
 */
export class UploadSessionStore {
  private readonly sessions = new Map<string, UploadSessionRecord>();
  private readonly hashers = new Map<string, DropboxContentHasher>();
  /** Sessions with an append in flight: a second, overlapping append can't know the offset yet. */
  private readonly busy = new Set<string>();

  constructor(records: UploadSessionRecord[] = []) {
    for (const session of records) this.sessions.set(session.id, session);
  }

  toJSON(): UploadSessionRecord[] {
    return [...this.sessions.values()];
  }

  create(accountId: string, file: string): UploadSessionRecord {
    const session: UploadSessionRecord = {
      id: newSessionId(),
      accountId,
      file,
      offset: 0,
      closed: false,
      createdAt: Date.now(),
    };
    this.sessions.set(session.id, session);
    this.hashers.set(session.id, new DropboxContentHasher());
    return session;
  }

  /** A live session of this account, or undefined (→ `not_found`). */
  get(accountId: string, id: string): UploadSessionRecord | undefined {
    const session = this.sessions.get(id);
    if (!session || session.accountId !== accountId) return undefined;
    return Date.now() - session.createdAt < SESSION_LIFETIME_MS ? session : undefined;
  }

  hasher(id: string): DropboxContentHasher | undefined {
    return this.hashers.get(id);
  }

  forgetHasher(id: string): void {
    this.hashers.delete(id);
  }

  tryLock(id: string): boolean {
    if (this.busy.has(id)) return false;
    this.busy.add(id);
    return true;
  }

  unlock(id: string): void {
    this.busy.delete(id);
  }

  remove(id: string): void {
    this.sessions.delete(id);
    this.hashers.delete(id);
  }
}
