import { DropboxApiError, OperationFailure, badRequest, u } from './errors';

/** A parsed path argument: the root folder, a path, or a file/folder id. */
export type PathRef = { kind: 'root' } | { kind: 'path'; display: string; lower: string } | { kind: 'id'; id: string };

export interface PathRules {
  /** `""` names the root folder (list_folder only). */
  allowRoot?: boolean;
  /** `"id:…"` names a file or folder by id. */
  allowId?: boolean;
  /** Whether a malformed path fails as a lookup (`path/malformed_path` of LookupError) or as a write. */
  failure?: 'lookup' | 'write';
}

/** The pattern Dropbox quotes when a path doesn't even look like a path. */
const PATH_PATTERN = String.raw`(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/(.|[\r\n])*)?)`;

/**
 * Parses a path argument the way Dropbox does: shape problems are 400s (quoting the field), a path that is shaped
 * right but can't name anything is a 409 `malformed_path`.
 */
export function parsePath(route: string, field: string, value: string, rules: PathRules = {}): PathRef {
  if (value === '') {
    if (rules.allowRoot) return { kind: 'root' };
    throw badRequest(route, `request body: ${field}: The root folder is unsupported.`);
  }
  if (value === '/') {
    throw badRequest(route, `request body: ${field}: Specify the root folder as an empty string rather than as "/".`);
  }
  if (value.startsWith('id:')) {
    if (rules.allowId) return { kind: 'id', id: value };
    throw patternMismatch(route, field, value);
  }
  if (!value.startsWith('/')) throw patternMismatch(route, field, value);
  const components = value.slice(1).split('/');
  const malformed = components.some(
    (name) => name === '' || name === '.' || name === '..' || name.includes('\0') || name.includes('\\'),
  );
  if (malformed) throw new OperationFailure(rules.failure ?? 'lookup', u('malformed_path'));
  if (rules.failure === 'write') checkWritableNames(components);
  return { kind: 'path', display: value, lower: lowerPath(value) };
}

/** Names Dropbox never stores (WriteError `disallowed_name`), compared without case. */
const DISALLOWED_NAMES = new Set(['.ds_store', 'desktop.ini', 'thumbs.db', 'icon\r', '.dropbox', '.dropbox.attr']);
const MAX_NAME_LENGTH = 255;

/** What Dropbox refuses to write: system files (`disallowed_name`), a trailing space or a long name (`malformed_path`). */
function checkWritableNames(components: string[]): void {
  for (const name of components) {
    if (DISALLOWED_NAMES.has(name.toLowerCase())) throw new OperationFailure('write', u('disallowed_name'));
    if (name.endsWith(' ') || name.length > MAX_NAME_LENGTH) throw new OperationFailure('write', u('malformed_path'));
  }
}

/** Characters outside the Basic Multilingual Plane (emoji), which Dropbox's API refused in paths for years. */
export const ASTRAL_CHARACTER = /[\u{10000}-\u{10FFFF}]/u;

export function lowerPath(path: string): string {
  return path.toLowerCase();
}

/** `"/a/b/c.txt"` → `"/a/b"`; a top-level entry's parent is the root `""`. */
export function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `path` is `ancestor` itself or lies below it (both lower-case). */
export function isWithin(path: string, ancestor: string): boolean {
  return path === ancestor || path.startsWith(`${ancestor}/`);
}

/**
 * Dropbox's autorename: `"song.wav"` → `"song (1).wav"`, `"song (2).wav"`…; folders keep dots in their name.
 * `conflicted copy` is the style of `update` mode.
 */
export function renamedPath(path: string, isFolder: boolean, attempt: number | 'conflicted copy'): string {
  const parent = parentOf(path);
  const name = nameOf(path);
  const dot = isFolder ? -1 : name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${parent}/${stem} (${attempt})${extension}`;
}

function patternMismatch(route: string, field: string, value: string): DropboxApiError {
  return badRequest(route, `request body: ${field}: '${value}' did not match pattern '${PATH_PATTERN}'`);
}
