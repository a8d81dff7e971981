import { textProblem } from '../../common/text-rules';

/** Characters Dropbox refuses or that mean something in a path, plus control characters. */
const UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f]/g;

/**
 * Characters outside Unicode's Basic Multilingual Plane (emoji and other astral symbols): Dropbox's API refused them
 * in names for years, so folder names the server makes never depend on them.
 */
const ASTRAL = /[\u{10000}-\u{10FFFF}]/gu;
/** Joiners and variation selectors left behind by a removed emoji. */
const EMOJI_LEFTOVERS = /\u200d|\ufe0e|\ufe0f|\u20e3/g;

/** Names Dropbox refuses to store (`disallowed_name`), compared without case. */
const DROPBOX_DISALLOWED_NAMES = new Set([
  '.ds_store',
  'desktop.ini',
  'thumbs.db',
  'icon\r',
  '.dropbox',
  '.dropbox.attr',
]);

/**
 * A track title made safe as one Dropbox folder name: characters Dropbox has always accepted only (the title itself
 * keeps its emoji in the dashboard), never one of the names Dropbox refuses.
 */
export function safeFolderName(title: string): string {
  const cleaned = title
    .replace(ASTRAL, ' ')
    .replace(EMOJI_LEFTOVERS, '')
    .replace(UNSAFE, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 100)
    .trim();
  if (!cleaned) return 'Untitled';
  return DROPBOX_DISALLOWED_NAMES.has(cleaned.toLowerCase()) ? `${cleaned} (track)` : cleaned;
}

/**
 * Why Dropbox would refuse to store a file under this name, or null. Such files are skipped in a multi-file upload
 * (a dragged macOS folder brings its .DS_Store) rather than failing it: `disallowed_name` for system files,
 * `malformed_path` for a trailing space or more than 255 characters.
 */
export function dropboxNameProblem(name: string): string | null {
  if (DROPBOX_DISALLOWED_NAMES.has(name.toLowerCase())) {
    return 'Dropbox does not store system files such as .DS_Store, desktop.ini, Thumbs.db, Icon and .dropbox';
  }
  if (/ $/.test(name)) return 'Dropbox does not accept a name ending in a space';
  if (name.length > 255) return 'Dropbox does not accept a name longer than 255 characters';
  return null;
}

/**
 * Why an uploaded file name can't be used as is, or null. Names are taken as given (no silent renaming),
 * so a name that could escape its folder is refused instead.
 */
export function fileNameProblem(name: string): string | null {
  if (!name || !name.trim()) return 'file name is empty';
  if (name.length > 255) return 'file name must be at most 255 characters';
  if (/[\\/]/.test(name)) return 'file name must not contain path separators';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'file name must not contain control characters';
  // Direction overrides spoof extensions (`evil\u202Egnp.exe` reads as `evilexe.png`); lone surrogates aren't text.
  const text = textProblem(name);
  if (text) return `file name ${text}`;
  if (name === '.' || name === '..') return 'file name is not a file';
  if (/[:*?"<>|]/.test(name)) return 'file name must not contain any of : * ? " < > |';
  if (name !== name.trim() || name.endsWith('.'))
    return 'file name must not start or end with spaces or end with a dot';
  return null;
}

const KEY = /^([A-Ga-g])\s*(#|♯|b|♭)?\s*(m|min|minor|maj|major)?$/;

/** "f#m", "Db major", "A minor" → "F# minor", "Db major", "A minor"; null when it isn't a key. */
export function normalizeMusicalKey(input: string): string | null {
  const match = KEY.exec(input.trim());
  if (!match) return null;
  const [, letter, accidental = '', quality = ''] = match;
  const sign = accidental === '♯' ? '#' : accidental === '♭' ? 'b' : accidental;
  const minor = quality === 'm' || quality.startsWith('min');
  return `${letter.toUpperCase()}${sign} ${minor ? 'minor' : 'major'}`;
}
