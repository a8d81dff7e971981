import { OperationFailure, conflictFailure, lookupFailure, u } from './errors';
import { dropboxTimestamp, newFileId, newRev } from './ids';
import { PathRef, isWithin, lowerPath, parentOf, renamedPath } from './paths';

export interface FolderEntry {
  tag: 'folder';
  id: string;
  pathDisplay: string;
  pathLower: string;
  /** Set when this folder is the mount point of a shared folder. */
  sharedFolderId?: string;
  /**
   * Outside the caller's mounted tree (a team space, an unmounted share): reachable by id only, and its metadata
   * (and that of everything in it) comes without `path_lower`/`path_display`.
   */
  outsideTree?: boolean;
}

/** The bytes of a file revision: an immutable blob on disk, shared by copies. */
export interface StoredContent {
  blob: string;
  size: number;
  contentHash: string;
}

/** An earlier revision of a file: its bytes and when they were written. */
export interface FileRevision extends StoredContent {
  rev: string;
  clientModified: string;
  serverModified: string;
  modifiedBy: string;
}

export interface FileEntry extends StoredContent {
  tag: 'file';
  id: string;
  pathDisplay: string;
  pathLower: string;
  rev: string;
  clientModified: string;
  serverModified: string;
  modifiedBy: string;
  /** Earlier revisions, newest first (files/list_revisions, files/restore); capped like Dropbox's history. */
  revisions?: FileRevision[];
  /** Set through the control API: Dropbox lists the file but won't serve it (see serving.ts). */
  servingBlock?: 'unsupported_file' | 'restricted_content' | 'not_allowed';
}

/** How many earlier revisions a file keeps (Dropbox keeps them for 30 days or more; tests need a handful). */
export const MAX_REVISIONS = 100;

export type Entry = FolderEntry | FileEntry;

export interface CommitOptions {
  mode: 'add' | 'overwrite' | 'update';
  /** The rev `update` mode expects. */
  rev?: string;
  autorename: boolean;
  strictConflict: boolean;
  clientModified?: string;
  modifiedBy: string;
}

export interface CommitOutcome {
  entry: FileEntry;
  /** False when identical contents were already there: Dropbox then changes nothing. */
  written: boolean;
}

/** A path whose state changed; list_folder/continue reports its state now (or that it was deleted). */
export interface Change {
  seq: number;
  pathLower: string;
  pathDisplay: string;
}

/**
 * One account's file tree. Paths are case-insensitive (indexed by `pathLower`) and keep the case they were created
 * with; parents are created implicitly, like Dropbox does.
 */
export class Namespace {
  private readonly byId = new Map<string, Entry>();
  private readonly byPath = new Map<string, Entry>();
  /** parent `pathLower` (`""` = root) → children by `pathLower`. */
  private readonly childrenOf = new Map<string, Map<string, Entry>>();
  private readonly journal: Change[] = [];
  private seq = 0;
  /** Bumped to invalidate every list_folder cursor of this namespace. */
  cursorGeneration = 0;

  constructor(entries: Entry[] = []) {
    const parentsFirst = [...entries].sort((a, b) => a.pathLower.length - b.pathLower.length);
    for (const entry of parentsFirst) this.index(entry);
  }

  get latestSeq(): number {
    return this.seq;
  }

  all(): Entry[] {
    return [...this.byId.values()];
  }

  find(ref: PathRef): Entry | undefined {
    if (ref.kind === 'root') return undefined;
    if (ref.kind === 'id') return this.byId.get(ref.id);
    const entry = this.byPath.get(ref.lower);
    return entry && !this.isOutsideTree(entry) ? entry : undefined;
  }

  /** Whether the entry lies in a folder outside the mounted tree (see `FolderEntry.outsideTree`). */
  isOutsideTree(entry: Entry): boolean {
    for (let path = entry.pathLower; path !== ''; path = parentOf(path)) {
      const at = this.byPath.get(path);
      if (at?.tag === 'folder' && at.outsideTree) return true;
    }
    return false;
  }

  byPathLower(pathLower: string): Entry | undefined {
    return this.byPath.get(pathLower);
  }

  lookup(ref: PathRef): Entry {
    const entry = this.find(ref);
    if (!entry) throw lookupFailure('not_found');
    return entry;
  }

  lookupFile(ref: PathRef): FileEntry {
    const entry = this.lookup(ref);
    if (entry.tag !== 'file') throw lookupFailure('not_file');
    return entry;
  }

  lookupFolder(ref: PathRef): FolderEntry {
    const entry = this.lookup(ref);
    if (entry.tag !== 'folder') throw lookupFailure('not_folder');
    return entry;
  }

  /** The `pathLower` a listing starts from: `""` for the root, else an existing folder. */
  listingScope(ref: PathRef): string {
    return ref.kind === 'root' ? '' : this.lookupFolder(ref).pathLower;
  }

  createFolder(pathDisplay: string, autorename: boolean): FolderEntry {
    const existing = this.byPath.get(lowerPath(pathDisplay));
    if (existing) {
      if (!autorename) throw conflictFailure(existing.tag);
      pathDisplay = this.freePath(pathDisplay, true, false);
    }
    this.ensureParents(pathDisplay);
    return this.insertFolder(pathDisplay);
  }

  commitFile(ref: PathRef, content: StoredContent, options: CommitOptions): CommitOutcome {
    if (ref.kind === 'root') throw new OperationFailure('write', u('malformed_path'));
    const existing = this.find(ref);
    if (ref.kind === 'id' && !existing) throw new OperationFailure('write', u('malformed_path'));
    const pathDisplay = ref.kind === 'id' ? existing!.pathDisplay : ref.display;
    this.ensureParents(pathDisplay);

    if (!existing) {
      if (options.mode === 'update' && options.strictConflict) {
        return this.conflict('file', pathDisplay, content, options);
      }
      return { entry: this.insertFile(pathDisplay, content, options), written: true };
    }
    if (existing.tag === 'folder') return this.conflict('folder', pathDisplay, content, options);
    if (existing.contentHash === content.contentHash && !options.strictConflict) {
      return { entry: existing, written: false };
    }
    const overwrite = options.mode === 'overwrite' || (options.mode === 'update' && options.rev === existing.rev);
    if (!overwrite) return this.conflict('file', pathDisplay, content, options);

    this.writeRevision(existing, content, options.clientModified ?? dropboxTimestamp(), options.modifiedBy);
    return { entry: existing, written: true };
  }

  /**
   * files/restore: the bytes of an earlier revision become a new revision of the same file (same id, new rev), as
   * on Dropbox; the revision being replaced joins the history. Restoring the current revision changes nothing.
   */
  restore(file: FileEntry, rev: string, modifiedBy: string): FileEntry {
    if (rev === file.rev) return file;
    const earlier = file.revisions?.find((r) => r.rev === rev);
    if (!earlier) throw new OperationFailure('other', u('invalid_revision'));
    this.writeRevision(file, earlier, earlier.clientModified, modifiedBy);
    return file;
  }

  /** A file's revisions, newest first, the current one included. */
  revisionsOf(file: FileEntry): FileRevision[] {
    const current: FileRevision = {
      rev: file.rev,
      blob: file.blob,
      size: file.size,
      contentHash: file.contentHash,
      clientModified: file.clientModified,
      serverModified: file.serverModified,
      modifiedBy: file.modifiedBy,
    };
    return [current, ...(file.revisions ?? [])];
  }

  private writeRevision(file: FileEntry, content: StoredContent, clientModified: string, modifiedBy: string): void {
    const previous = this.revisionsOf(file)[0];
    file.revisions = [previous, ...(file.revisions ?? [])].slice(0, MAX_REVISIONS);
    Object.assign(
      file,
      { blob: content.blob, size: content.size, contentHash: content.contentHash },
      {
        rev: newRev(),
        serverModified: dropboxTimestamp(),
        clientModified,
        modifiedBy,
      },
    );
    this.record(file);
  }

  /** Removes an entry and, for a folder, everything below it; returns what was removed. */
  delete(entry: Entry): Entry[] {
    const removed = this.subtree(entry);
    for (const item of [...removed].reverse()) {
      this.unindex(item);
      this.record(item);
    }
    return removed;
  }

  move(entry: Entry, toDisplay: string, autorename: boolean): Entry {
    const toLower = lowerPath(toDisplay);
    if (toDisplay === entry.pathDisplay) throw new OperationFailure('other', u('duplicated_or_nested_paths'));
    if (entry.tag === 'folder' && toLower !== entry.pathLower && isWithin(toLower, entry.pathLower)) {
      throw new OperationFailure('other', u('cant_move_folder_into_itself'));
    }
    const occupant = this.byPath.get(toLower);
    if (occupant && occupant !== entry) {
      if (!autorename) throw new OperationFailure('write', u('conflict', u(occupant.tag)));
      toDisplay = this.freePath(toDisplay, entry.tag === 'folder', false);
    }
    if (this.sharedFolderAt(parentOf(lowerPath(toDisplay))) && this.subtree(entry).some(isSharedFolder)) {
      throw new OperationFailure('other', u('cant_nest_shared_folder'));
    }
    this.ensureParents(toDisplay);
    const fromDisplay = entry.pathDisplay;
    const moving = this.subtree(entry);
    for (const item of [...moving].reverse()) {
      this.unindex(item);
      this.record(item);
    }
    for (const item of moving) {
      item.pathDisplay = toDisplay + item.pathDisplay.slice(fromDisplay.length);
      item.pathLower = lowerPath(item.pathDisplay);
      this.index(item);
      this.record(item);
    }
    return entry;
  }

  copy(entry: Entry, toDisplay: string, autorename: boolean, modifiedBy: string): Entry {
    const toLower = lowerPath(toDisplay);
    if (entry.tag === 'folder' && isWithin(toLower, entry.pathLower)) {
      throw new OperationFailure('other', u('duplicated_or_nested_paths'));
    }
    const source = this.subtree(entry);
    if (source.some(isSharedFolder)) throw new OperationFailure('other', u('cant_copy_shared_folder'));
    const occupant = this.byPath.get(toLower);
    if (occupant) {
      if (!autorename) throw new OperationFailure('write', u('conflict', u(occupant.tag)));
      toDisplay = this.freePath(toDisplay, entry.tag === 'folder', false);
    }
    this.ensureParents(toDisplay);
    const copies = source.map((item) => {
      const pathDisplay = toDisplay + item.pathDisplay.slice(entry.pathDisplay.length);
      return item.tag === 'folder'
        ? this.insertFolder(pathDisplay)
        : this.insertFile(pathDisplay, item, { clientModified: item.clientModified, modifiedBy });
    });
    return copies[0];
  }

  /** Marks a folder as a shared folder's mount point (or, with undefined, as unshared). */
  setSharedFolder(folder: FolderEntry, sharedFolderId: string | undefined): void {
    folder.sharedFolderId = sharedFolderId;
    this.record(folder);
  }

  /** Direct children, or with `recursive` the whole subtree including the folder itself, parents first. */
  list(scopeLower: string, recursive: boolean): Entry[] {
    const scope = this.byPath.get(scopeLower);
    // A listing inside the mounted tree doesn't show what lies outside it.
    const visible = (entries: Entry[]) =>
      scope && this.isOutsideTree(scope) ? entries : entries.filter((e) => !this.isOutsideTree(e));
    if (!recursive) return visible(sortByPath([...(this.childrenOf.get(scopeLower)?.values() ?? [])]));
    return visible(scope ? this.subtree(scope) : sortByPath(this.descendants('')));
  }

  /** The entry and everything below it, parents first. */
  subtree(entry: Entry): Entry[] {
    return [entry, ...(entry.tag === 'folder' ? sortByPath(this.descendants(entry.pathLower)) : [])];
  }

  /** The id of the shared folder mounted at `pathLower` or at its nearest ancestor. */
  sharedFolderAt(pathLower: string): string | undefined {
    for (let path = pathLower; path !== ''; path = parentOf(path)) {
      const entry = this.byPath.get(path);
      if (entry?.tag === 'folder' && entry.sharedFolderId) return entry.sharedFolderId;
    }
    return undefined;
  }

  /** The latest change per path after `seq`, within a listing's scope, oldest first. */
  changesSince(seq: number, scopeLower: string, recursive: boolean): Change[] {
    const latest = new Map<string, Change>();
    for (const change of this.journal) {
      if (change.seq <= seq) continue;
      const inScope = recursive
        ? scopeLower === '' || isWithin(change.pathLower, scopeLower)
        : parentOf(change.pathLower) === scopeLower;
      if (!inScope) continue;
      latest.delete(change.pathLower);
      latest.set(change.pathLower, change);
    }
    return [...latest.values()];
  }

  private conflict(
    what: 'file' | 'folder',
    pathDisplay: string,
    content: StoredContent,
    options: CommitOptions,
  ): CommitOutcome {
    if (!options.autorename) throw conflictFailure(what);
    const free = this.freePath(pathDisplay, false, options.mode === 'update');
    return { entry: this.insertFile(free, content, options), written: true };
  }

  /** Creates missing parent folders; a file in the way is a `file_ancestor` conflict. */
  private ensureParents(pathDisplay: string): void {
    const missing: string[] = [];
    for (let parent = parentOf(pathDisplay); parent !== ''; parent = parentOf(parent)) {
      const entry = this.byPath.get(lowerPath(parent));
      if (entry?.tag === 'file') throw conflictFailure('file_ancestor');
      if (entry) break;
      missing.unshift(parent);
    }
    for (const folder of missing) this.insertFolder(folder);
  }

  /** The first autorename candidate nobody uses: `(conflicted copy)` for update mode, then `(1)`, `(2)`… */
  private freePath(pathDisplay: string, isFolder: boolean, conflictedCopy: boolean): string {
    if (conflictedCopy) {
      const candidate = renamedPath(pathDisplay, isFolder, 'conflicted copy');
      if (!this.byPath.has(lowerPath(candidate))) return candidate;
    }
    for (let attempt = 1; ; attempt++) {
      const candidate = renamedPath(pathDisplay, isFolder, attempt);
      if (!this.byPath.has(lowerPath(candidate))) return candidate;
    }
  }

  private insertFolder(pathDisplay: string): FolderEntry {
    const folder: FolderEntry = { tag: 'folder', id: newFileId(), pathDisplay, pathLower: lowerPath(pathDisplay) };
    this.index(folder);
    this.record(folder);
    return folder;
  }

  private insertFile(
    pathDisplay: string,
    content: StoredContent,
    options: Pick<CommitOptions, 'clientModified' | 'modifiedBy'>,
  ): FileEntry {
    const now = dropboxTimestamp();
    const file: FileEntry = {
      tag: 'file',
      id: newFileId(),
      pathDisplay,
      pathLower: lowerPath(pathDisplay),
      blob: content.blob,
      size: content.size,
      contentHash: content.contentHash,
      rev: newRev(),
      clientModified: options.clientModified ?? now,
      serverModified: now,
      modifiedBy: options.modifiedBy,
    };
    this.index(file);
    this.record(file);
    return file;
  }

  private index(entry: Entry): void {
    this.byId.set(entry.id, entry);
    this.byPath.set(entry.pathLower, entry);
    const parent = parentOf(entry.pathLower);
    let siblings = this.childrenOf.get(parent);
    if (!siblings) this.childrenOf.set(parent, (siblings = new Map()));
    siblings.set(entry.pathLower, entry);
  }

  private unindex(entry: Entry): void {
    this.byId.delete(entry.id);
    this.byPath.delete(entry.pathLower);
    this.childrenOf.get(parentOf(entry.pathLower))?.delete(entry.pathLower);
    this.childrenOf.delete(entry.pathLower);
  }

  private descendants(pathLower: string): Entry[] {
    const found: Entry[] = [];
    for (const child of this.childrenOf.get(pathLower)?.values() ?? []) {
      found.push(child);
      if (child.tag === 'folder') found.push(...this.descendants(child.pathLower));
    }
    return found;
  }

  private record(entry: Entry): void {
    this.journal.push({ seq: ++this.seq, pathLower: entry.pathLower, pathDisplay: entry.pathDisplay });
  }
}

function isSharedFolder(entry: Entry): boolean {
  return entry.tag === 'folder' && entry.sharedFolderId !== undefined;
}

function sortByPath(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => (a.pathLower < b.pathLower ? -1 : a.pathLower > b.pathLower ? 1 : 0));
}
