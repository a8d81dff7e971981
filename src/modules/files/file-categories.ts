import { extname } from 'node:path';

export const FILE_CATEGORIES = ['bounce', 'project', 'stem'] as const;
export type FileCategory = (typeof FILE_CATEGORIES)[number];

export const SHARING_STATUSES = ['private', 'preview', 'collaborative', 'released'] as const;
export type SharingStatus = (typeof SHARING_STATUSES)[number];

/** Default download permission per category of a new share, by the track's sharing status (see README). */
export const DEFAULT_DOWNLOADS: Record<SharingStatus, Record<FileCategory, boolean>> = {
  private: { bounce: false, project: false, stem: false },
  preview: { bounce: true, project: false, stem: false },
  collaborative: { bounce: true, project: true, stem: true },
  released: { bounce: true, project: false, stem: true },
};

/** The subfolder of a track's Dropbox folder for each category. */
export const CATEGORY_FOLDERS: Record<FileCategory, string> = { bounce: 'Bounces', project: 'Projects', stem: 'Stems' };

/** A category as pages name a group of files ("Bounces"), and one file of it ("Bounce"). */
export const CATEGORY_LABELS: Record<FileCategory, string> = { bounce: 'Bounces', project: 'Projects', stem: 'Stems' };
export const CATEGORY_LABELS_ONE: Record<FileCategory, string> = { bounce: 'Bounce', project: 'Project', stem: 'Stem' };

/**
 * The audio formats, each with the Content-Type it is served as: one list, so whatever counts as audio (imported
 * as a bounce, analysed, previewed, played) is also served as audio.
 */
const AUDIO_CONTENT_TYPES: Record<string, string> = {
  '.wav': 'audio/wav',
  '.wave': 'audio/wav',
  '.bwf': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac',
  '.aif': 'audio/aiff',
  '.aiff': 'audio/aiff',
  '.aifc': 'audio/aiff',
  '.m4a': 'audio/mp4',
  '.alac': 'audio/mp4',
  '.aac': 'audio/aac',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.wma': 'audio/x-ms-wma',
  '.caf': 'audio/x-caf',
};
const PROJECT_EXTENSIONS = new Set([
  '.als',
  '.alp',
  '.flp',
  '.ptx',
  '.ptf',
  '.cpr',
  '.npr',
  '.rpp',
  '.logicx',
  '.band',
  '.song',
  '.bwproject',
  '.reason',
  '.aup3',
  '.zip',
]);
/** Folders that are really one document (macOS bundles). */
const PACKAGE_EXTENSIONS = new Set(['.logicx', '.band']);

export function extensionOf(name: string): string {
  return extname(name).toLowerCase();
}

export function isAudio(name: string): boolean {
  return Object.hasOwn(AUDIO_CONTENT_TYPES, extensionOf(name));
}

/** The Content-Type a file is served as: its audio type, or a plain download for anything else. */
export function contentTypeOf(name: string): string {
  return AUDIO_CONTENT_TYPES[extensionOf(name)] ?? 'application/octet-stream';
}

/** A file that can be played (and previewed): audio, and not a package folder. */
export function isPlayable(file: { name: string; isPackage: boolean }): boolean {
  return !file.isPackage && isAudio(file.name);
}

export function isPackageFolder(name: string): boolean {
  return PACKAGE_EXTENSIONS.has(extensionOf(name));
}

/** The category a subfolder name stands for (`Bounces`, `stems`…), if any. */
export function categoryOfFolder(folder: string): FileCategory | undefined {
  const name = folder.toLowerCase();
  if (name === 'bounces' || name === 'bounce' || name === 'mixes') return 'bounce';
  if (name === 'projects' || name === 'project' || name === 'sessions') return 'project';
  if (name === 'stems' || name === 'stem') return 'stem';
  return undefined;
}

/**
 * Where a file belongs when nobody said: by the subfolder it sits in (relative to the track folder), then by
 * extension — DAW projects are projects, audio is a bounce, anything else is kept with the projects.
 */
export function inferCategory(name: string, relativeFolders: string[] = []): FileCategory {
  for (const folder of relativeFolders) {
    const category = categoryOfFolder(folder);
    if (category) return category;
  }
  if (PROJECT_EXTENSIONS.has(extensionOf(name))) return 'project';
  if (isAudio(name)) return 'bounce';
  return 'project';
}

/** A short human format label: "WAV", "Logic Pro project". */
export function formatLabel(name: string, isPackage = false): string {
  const ext = extensionOf(name).slice(1);
  const known: Record<string, string> = {
    logicx: 'Logic Pro project',
    als: 'Ableton Live set',
    flp: 'FL Studio project',
    ptx: 'Pro Tools session',
    cpr: 'Cubase project',
    rpp: 'Reaper project',
    band: 'GarageBand project',
  };
  if (known[ext]) return known[ext];
  if (isPackage) return 'Package';
  return ext ? ext.toUpperCase() : 'File';
}
