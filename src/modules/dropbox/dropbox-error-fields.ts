import { DropboxResponseError } from 'dropbox';
import type { DropboxError } from './dropbox.errors';
import type { SharedFolderInfo } from './dropbox.types';

/** A field anywhere in a Dropbox error body (struct variants are inlined beside their `.tag`). */
export function findField(node: unknown, name: string, depth = 0): unknown {
  if (!node || typeof node !== 'object' || depth > 6) return undefined;
  const record = node as Record<string, unknown>;
  if (name in record) return record[name];
  for (const value of Object.values(record)) {
    const found = findField(value, name, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The folder named by an `already_shared` refusal (its metadata rides inside the error). */
export function alreadySharedIn(tags: string[], body: unknown): SharedFolderInfo | undefined {
  if (!tags.includes('already_shared')) return undefined;
  const id = findField(body, 'shared_folder_id');
  if (typeof id !== 'string') return undefined;
  const path = findField(body, 'path_display');
  const preview = findField(body, 'preview_url');
  return {
    sharedFolderId: id,
    pathDisplay: typeof path === 'string' ? path : undefined,
    previewUrl: typeof preview === 'string' ? preview : undefined,
  };
}

/**
 * Copies the values Dropbox sends beside the tags onto the domain error's typed fields, so callers read
 * `err.correctOffset`, `err.refusedMember` or `err.alreadyShared` instead of the SDK's raw body.
 */
export function withErrorFields(err: DropboxError, raw: unknown): DropboxError {
  if (!(raw instanceof DropboxResponseError)) return err;
  const body: unknown = raw.error;
  if (err.tags.includes('incorrect_offset')) {
    const offset = Number(findField(body, 'correct_offset'));
    if (Number.isFinite(offset)) err.correctOffset = offset;
  }
  if (err.tags[0] === 'bad_member' && err.tags[1]) {
    const member = findField(body, err.tags[1]);
    if (typeof member === 'string') err.refusedMember = member;
  }
  const shared = alreadySharedIn(err.tags, body);
  if (shared) err.alreadyShared = shared;
  return err;
}
