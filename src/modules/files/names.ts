import { textProblem } from '../../common/text-rules';

/** Characters Dropbox refuses or that mean something in a path, plus control characters. */
const UNSAFE = /[\\/:*?"<>|\u0000-\u001f\u007f]/g;

/** A track title made safe as one Dropbox folder name. */
export function safeFolderName(title: string): string {
  const cleaned = title
    .replace(UNSAFE, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 100)
    .trim();
  return cleaned || 'Untitled';
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
  if (name !== name.trim() || name.endsWith('.')) return 'file name must not start or end with spaces or end with a dot';
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
