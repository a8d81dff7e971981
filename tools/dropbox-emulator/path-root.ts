import { createHash } from 'node:crypto';
import { Args } from './args';
import { DropboxApiError, badRequest, lookupFailure, errorSummary } from './errors';
import { ApiResult } from './routes/route';
import { AccountRecord } from './state';

/**
 * `Dropbox-API-Path-Root` (common.PathRoot) and the root a call's paths are relative to. Without the header, or with
 * `home`, paths are the caller's home namespace — for a team member too. A team with a separate team root has its
 * own namespace above every member's home; with `root` (or `namespace_id`) naming it, a member's own files appear
 * under their `home_path` (`/Jo Producer/...`).
 */
export interface RootInfo {
  '.tag': 'team' | 'user';
  root_namespace_id: string;
  home_namespace_id: string;
  home_path?: string;
}

/** The team's root namespace: one per team, the same for all its members. */
export function teamRootNamespace(teamId: string): string {
  const digits = BigInt(`0x${createHash('sha256').update(teamId).digest('hex').slice(0, 12)}`).toString();
  return `9${digits.slice(0, 11)}`;
}

export function rootInfoOf(account: AccountRecord): RootInfo {
  if (!account.team)
    return { '.tag': 'user', root_namespace_id: account.namespaceId, home_namespace_id: account.namespaceId };
  return {
    '.tag': 'team',
    root_namespace_id: teamRootNamespace(account.team.id),
    home_namespace_id: account.namespaceId,
    home_path: `/${account.display_name}`,
  };
}

/** 422 PathRootError, as Dropbox answers a root that is not (or no longer) the caller's. */
function pathRootError(error: Record<string, unknown>): DropboxApiError {
  return new DropboxApiError(422, { error_summary: errorSummary(error), error });
}

/**
 * The prefix the call's paths sit under (`''`: the home namespace, nothing to translate). Malformed headers answer
 * 400 in plain text; a root that is not the caller's `invalid_root` with their current root info; a namespace they
 * can't reach `no_permission`.
 */
export function pathRootPrefix(route: string, account: AccountRecord, header: string | string[] | undefined): string {
  if (header === undefined) return '';
  const text = Array.isArray(header) ? header[0] : header;
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    throw badRequest(route, `Invalid value in HTTP header "Dropbox-API-Path-Root": could not decode input as JSON`);
  }
  const tag = typeof root === 'object' && root !== null ? (root as Record<string, unknown>)['.tag'] : undefined;
  const info = rootInfoOf(account);
  const home = info.home_path ?? '';
  if (tag === 'home') return '';
  if (tag === 'root') {
    const id = (root as { root?: unknown }).root;
    if (id !== info.root_namespace_id) throw pathRootError({ '.tag': 'invalid_root', invalid_root: info });
    return info.root_namespace_id === info.home_namespace_id ? '' : home;
  }
  if (tag === 'namespace_id') {
    const id = (root as { namespace_id?: unknown }).namespace_id;
    if (id === info.home_namespace_id) return '';
    if (id === info.root_namespace_id) return home;
    throw pathRootError({ '.tag': 'no_permission' });
  }
  throw badRequest(route, `Invalid value in HTTP header "Dropbox-API-Path-Root": unknown tag "${String(tag)}"`);
}

const PATH_FIELDS = new Set(['path', 'from_path', 'to_path']);

function mapDeep(value: unknown, fn: (key: string, value: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapDeep(item, fn));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, typeof inner === 'string' ? fn(key, inner) : mapDeep(inner, fn)]),
  );
}

/**
 * Path arguments relative to the team root, made relative to the member's home. Ids (`id:…`) need nothing; a path
 * elsewhere in the team root (team folders, other members) is not emulated and is not found.
 */
export function argsUnderRoot(args: Args, prefix: string): Args {
  if (!prefix) return args;
  const lower = prefix.toLowerCase();
  return args.withValue(
    mapDeep(args.raw, (key, value) => {
      if (!PATH_FIELDS.has(key) || !value.startsWith('/')) return value;
      const valueLower = value.toLowerCase();
      if (valueLower === lower) return '';
      if (valueLower.startsWith(`${lower}/`)) return value.slice(prefix.length);
      throw lookupFailure('not_found');
    }) as Record<string, unknown>,
  );
}

/** Paths in answers, as seen from the team root: under the member's home path. */
export function resultUnderRoot(result: ApiResult, prefix: string): ApiResult {
  if (!prefix) return result;
  const fn = (key: string, value: string) =>
    key === 'path_lower' ? `${prefix.toLowerCase()}${value}` : key === 'path_display' ? `${prefix}${value}` : value;
  if (result.kind === 'json') return { ...result, body: mapDeep(result.body, fn) };
  return { ...result, apiResult: mapDeep(result.apiResult, fn) };
}
