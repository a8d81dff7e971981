import { OperationFailure, u } from './errors';
import { FileEntry, Namespace, StoredContent } from './namespace';
import { PathRef } from './paths';
import type { AccountRecord } from './state';

/**
 * An account's allocation when no quota was set: large enough that tests and benchmarks (a 2 GiB upload) never
 * meet it by accident. A Dropbox Basic account has 2 GiB (`BASIC_QUOTA_BYTES`); set it with the control API.
 */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 ** 4;
export const BASIC_QUOTA_BYTES = 2 * 1024 ** 3;

export function quotaOf(account: AccountRecord): number {
  return account.quotaBytes ?? DEFAULT_QUOTA_BYTES;
}

/** Used space as Dropbox counts it: the size of every stored file (a copy counts again). */
export function usedBytes(namespace: Namespace): number {
  let used = 0;
  for (const entry of namespace.all()) if (entry.tag === 'file') used += entry.size;
  return used;
}

/**
 * Refuses a commit that would take the account over its quota (`insufficient_space`, a WriteError). Identical
 * contents already at the path change nothing and are let through; an overwrite frees the replaced file's bytes.
 */
export function assertSpaceForCommit(
  account: AccountRecord,
  namespace: Namespace,
  ref: PathRef,
  content: StoredContent,
): void {
  const existing = namespace.find(ref);
  const replaced = existing?.tag === 'file' ? (existing as FileEntry) : undefined;
  if (replaced && replaced.contentHash === content.contentHash) return;
  assertSpace(account, namespace, content.size, replaced?.size ?? 0, 'insufficient_space');
}

/** Refuses `added` more bytes past the quota; copies answer `insufficient_quota` (RelocationError). */
export function assertSpace(
  account: AccountRecord,
  namespace: Namespace,
  added: number,
  freed: number,
  tag: 'insufficient_space' | 'insufficient_quota',
): void {
  if (added === 0) return;
  if (usedBytes(namespace) - freed + added > quotaOf(account)) {
    throw new OperationFailure(tag === 'insufficient_space' ? 'write' : 'other', u(tag));
  }
}
