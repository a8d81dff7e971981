import { Args } from './args';
import { rateLimitError } from './errors';
import { newSecret } from './ids';
import { Namespace } from './namespace';
import { lowerPath, parentOf } from './paths';

/**
 * Dropbox locks writes per namespace: an account's home and each shared folder are namespaces of their own, and
 * a write holds its namespace's lock while it runs. An "outside writer" — a collaborator, a desktop client, another
 * app writing into a shared folder — holds one here (control API), and every write of any account into that
 * namespace answers 429 `too_many_write_operations` while it does. Reads are never locked.
 */
export interface NamespaceLock {
  id: string;
  /** `home:<account id>` or `shared:<shared folder id>`. */
  namespace: string;
  retryAfterSeconds: number;
  /** Writes refused while it was held. */
  refused: number;
}

export const homeNamespace = (accountId: string) => `home:${accountId}`;
export const sharedNamespace = (sharedFolderId: string) => `shared:${sharedFolderId}`;

export class NamespaceLocks {
  private readonly locks = new Map<string, NamespaceLock>();

  hold(namespace: string, retryAfterSeconds: number): NamespaceLock {
    const lock: NamespaceLock = { id: `nslock-${newSecret(6)}`, namespace, retryAfterSeconds, refused: 0 };
    this.locks.set(lock.id, lock);
    return { ...lock };
  }

  release(id: string): boolean {
    return this.locks.delete(id);
  }

  list(): NamespaceLock[] {
    return [...this.locks.values()].map((lock) => ({ ...lock }));
  }

  clear(): void {
    this.locks.clear();
  }

  /** Refuses a write into a namespace someone else holds, as Dropbox's lock contention does. */
  check(namespaces: Set<string>): void {
    for (const lock of this.locks.values()) {
      if (!namespaces.has(lock.namespace)) continue;
      lock.refused++;
      throw rateLimitError('too_many_write_operations', lock.retryAfterSeconds);
    }
  }
}

/** Argument fields naming where a write lands (a copy's `from_path` is only read; a move's is written). */
const WRITTEN_PATH_FIELDS = new Set(['path', 'to_path']);

/**
 * The namespaces a write call touches: the namespace holding each written path's parent (so sharing a folder locks
 * the namespace its mount point lives in, and writing inside it the shared folder's), and any shared folder the
 * call names by id.
 */
export function namespacesWritten(route: string, accountId: string, namespace: Namespace, args: Args): Set<string> {
  const touched = new Set<string>();
  const visit = (value: unknown, field: string | undefined, depth: number) => {
    if (depth > 6) return;
    if (typeof value === 'string' && field) {
      if (field === 'shared_folder_id') touched.add(sharedNamespace(value));
      const written = WRITTEN_PATH_FIELDS.has(field) || (field === 'from_path' && route === 'files/move_v2');
      if (written) touched.add(namespaceOfParent(accountId, namespace, value));
      return;
    }
    if (Array.isArray(value)) for (const item of value) visit(item, field, depth + 1);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) visit(inner, key, depth + 1);
    }
  };
  visit(args.raw, undefined, 0);
  if (touched.size === 0) touched.add(homeNamespace(accountId));
  return touched;
}

function namespaceOfParent(accountId: string, namespace: Namespace, pathOrId: string): string {
  let lower = lowerPath(pathOrId);
  if (pathOrId.startsWith('id:')) {
    const entry = namespace.find({ kind: 'id', id: pathOrId });
    if (!entry) return homeNamespace(accountId);
    lower = entry.pathLower;
  }
  const shared = namespace.sharedFolderAt(parentOf(lower));
  return shared ? sharedNamespace(shared) : homeNamespace(accountId);
}
