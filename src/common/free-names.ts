/**
 * The free-name rule, the same wherever a name is taken (a Dropbox folder, a ZIP, a collaboration folder):
 * "x.wav", "x (2).wav", "x (3).wav"… The number goes before the extension, so the file still opens with its app
 * (a Logic `.logicx` bundle too); a plain folder, a name without an extension and a dot-file (".env") get it at
 * the end. Only the last segment of a path is numbered.
 */
export interface FreeNameOptions {
  /** A plain folder (a track's folder): "Vol. 2" becomes "Vol. 2 (2)", not "Vol (2). 2". */
  folder?: boolean;
}

/** The n-th candidate for a name: n = 1 is the name itself. */
export function numberedName(path: string, n: number, options: FreeNameOptions = {}): string {
  if (n <= 1) return path;
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = options.folder ? -1 : name.lastIndexOf('.');
  return dot > 0 ? `${dir}${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${dir}${name} (${n})`;
}

const NUMBER = / \((\d+)\)(?=\.[^.]*$|$)/;

/** The candidate after a numbered one: "x (2).wav" → "x (3).wav"; an unnumbered "x.wav" → "x (2).wav". */
export function nextNumberedName(path: string, options: FreeNameOptions = {}): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const match = NUMBER.exec(name);
  return numberedName(`${dir}${name.replace(NUMBER, '')}`, match ? Number(match[1]) + 1 : 2, options);
}

/** The first candidate not taken (compared without case, as Dropbox does), or null after `tries` candidates. */
export function firstFreeName(
  path: string,
  taken: (lowerCased: string) => boolean,
  tries: number,
  options: FreeNameOptions = {},
): string | null {
  for (let n = 1; n <= tries; n += 1) {
    const candidate = numberedName(path, n, options);
    if (!taken(candidate.toLowerCase())) return candidate;
  }
  return null;
}
