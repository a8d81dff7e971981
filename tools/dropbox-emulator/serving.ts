import { routeError, u } from './errors';
import { FileEntry } from './namespace';
import { nameOf } from './paths';

/**
 * Files Dropbox lists but won't hand out: cloud documents (Google Docs/Sheets/Slides, Paper — `is_downloadable:
 * false`, `unsupported_file`), content Dropbox has restricted (`path/restricted_content`) and files whose links it
 * banned (`not_allowed`). Cloud documents are recognised by their extension; the others are set per file through
 * the control API.
 */
export type ServingBlock = 'unsupported_file' | 'restricted_content' | 'not_allowed';

const CLOUD_DOCUMENT = /\.(gdoc|gsheet|gslides|gdraw|gform|gmap|gsite|paper|papert|web)$/i;

export function servingBlockOf(file: FileEntry): ServingBlock | undefined {
  return file.servingBlock ?? (CLOUD_DOCUMENT.test(nameOf(file.pathDisplay)) ? 'unsupported_file' : undefined);
}

export function isDownloadable(file: FileEntry): boolean {
  return servingBlockOf(file) !== 'unsupported_file';
}

/** The refusal of `get_temporary_link` or `download` for a file Dropbox won't serve (none for one it will). */
export function assertServable(file: FileEntry): void {
  const block = servingBlockOf(file);
  if (!block) return;
  throw routeError(block === 'restricted_content' ? u('path', u('restricted_content')) : u(block));
}
