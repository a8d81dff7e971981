/**
 * The producer's track, library and collaborator pages as view models: pure functions from what the services
 * answered to what the Handlebars templates render. No I/O here, so every label and sentence can be unit-tested.
 */
import { validateForm } from '../../common/http/validation';
import { formatBytes, formatDuration } from '../../common/views/handlebars';
import type { CollaboratorWithTracks } from './collaborators.service';
import { ListTracksQuery, TRACK_SORTS } from './dto/track.dto';
import {
  CATEGORY_FOLDERS,
  CATEGORY_LABELS_ONE,
  DEFAULT_DOWNLOADS,
  FILE_CATEGORIES,
  FileCategory,
  isPlayable,
  SHARING_STATUSES,
  SharingStatus,
} from './file-categories';
import type { Library, LibraryItem } from './library-items';
import type { TrackPage } from './tracks.service';
import type { UploadView } from './uploads.service';
import { AudioInfo, CollaboratorView, TrackView } from './views';

export type Fields = Record<string, string>;
export type FieldErrors = Record<string, string>;
export interface DropboxState {
  dropboxReady: boolean;
  dropboxExpired: boolean;
}

export const STATUS_MEANINGS: Record<SharingStatus, string> = {
  private: 'Work in progress: listen only',
  preview: 'For curators, labels, A&R',
  collaborative: 'For engineers and co-producers',
  released: 'Final: masters and stems for remixes',
};

const SORT_LABELS: Record<(typeof TRACK_SORTS)[number], string> = {
  created: 'Date created',
  updated: 'Last changed',
  title: 'Title',
  artist: 'Artist',
};

export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function sharingStatusRows(selected: string | undefined) {
  return SHARING_STATUSES.map((value) => ({
    value,
    label: capitalize(value),
    meaning: STATUS_MEANINGS[value],
    bounce: DEFAULT_DOWNLOADS[value].bounce ? 'download' : 'listen only',
    project: DEFAULT_DOWNLOADS[value].project ? 'download' : 'no download',
    stem: DEFAULT_DOWNLOADS[value].stem ? 'download' : 'listen only',
    checked: value === (selected || 'private'),
  }));
}

function fileCountsText(counts: Record<FileCategory, number>): string {
  return [plural(counts.bounce, 'bounce'), plural(counts.project, 'project'), plural(counts.stem, 'stem')].join(' · ');
}

function trackRow(track: TrackView) {
  return {
    id: track.id,
    title: track.title,
    artist: track.artist,
    sharingStatus: track.sharingStatus,
    statusLabel: capitalize(track.sharingStatus),
    artworkSmallUrl: track.artworkSmallUrl,
    bpm: track.bpm,
    key: track.key,
    filesText: fileCountsText(track.fileCounts),
    collaboratorsText: track.collaborators.map((c) => c.name).join(', '),
    updatedAt: track.updatedAt,
  };
}

export function audioText(audio: AudioInfo | null): string {
  if (!audio) return '';
  const parts: string[] = [];
  if (audio.sampleRate)
    parts.push(`${audio.sampleRate % 1000 === 0 ? audio.sampleRate / 1000 : (audio.sampleRate / 1000).toFixed(1)} kHz`);
  if (audio.bitsPerSample) parts.push(`${audio.bitsPerSample}-bit`);
  if (audio.channels)
    parts.push(audio.channels === 1 ? 'mono' : audio.channels === 2 ? 'stereo' : `${audio.channels} channels`);
  return parts.join(' · ');
}

function libraryRow(item: LibraryItem, folderPath: string | null) {
  const missing = item.status === 'missing';
  // A missing file is known by its last full Dropbox path; show it relative to the track folder like the rest.
  const prefix = folderPath ? `${folderPath.toLowerCase()}/` : null;
  const relativePath =
    prefix && item.relativePath.toLowerCase().startsWith(prefix)
      ? item.relativePath.slice(prefix.length)
      : item.relativePath;
  return {
    key: (item.id ?? item.dropboxId).replace(/[^A-Za-z0-9_-]/g, '_'),
    id: item.id,
    dropboxId: item.dropboxId,
    name: item.name,
    relativePath,
    format: item.format,
    sizeText: formatBytes(item.size),
    durationText: item.audio?.durationSeconds != null ? formatDuration(item.audio.durationSeconds) : '',
    audioText: audioText(item.audio),
    hasAudio: Boolean(item.audio),
    imported: item.imported,
    missing,
    cantServe: item.cantServe,
    isMaster: item.isMaster,
    canBeMaster: item.imported && !missing && item.category === 'bounce' && isPlayable(item),
    modifiedAt: item.modifiedAt,
    hasVersions: item.imported && !missing && !item.isPackage,
    categoryOptions: FILE_CATEGORIES.map((value) => ({
      value,
      label: CATEGORY_LABELS_ONE[value],
      selected: value === item.category,
    })),
  };
}

function libraryGroups(library: Library) {
  return FILE_CATEGORIES.map((category) => {
    const items = library.items
      .filter((i) => i.category === category)
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }))
      .map((item) => libraryRow(item, library.folderPath));
    return {
      category,
      title: CATEGORY_FOLDERS[category],
      items,
      count: items.length,
      emptyText: `No ${CATEGORY_FOLDERS[category].toLowerCase()} yet.`,
      notImported: items.some((i) => !i.imported),
    };
  });
}

/** The upload limit as configured (MAX_UPLOAD_MB is in binary megabytes): "20 GB", "500 MB". */
export function binarySize(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GB` : `${Math.round(bytes / 2 ** 20)} MB`;
}

function uploadRow(upload: UploadView) {
  const statusText =
    upload.status === 'failed'
      ? 'failed'
      : upload.status === 'queued'
        ? upload.error
          ? 'waiting to retry'
          : 'waiting to be stored in Dropbox'
        : `storing in Dropbox: ${upload.percent}%`;
  return { ...upload, sizeText: formatBytes(upload.size), statusText, failed: upload.status === 'failed' };
}

// ---- Tracks list ---------------------------------------------------------------------------------------------

export interface TracksQuery {
  query: ListTracksQuery;
  invalid: boolean;
}

/** The list's query string, checked; a hand-edited one falls back to the defaults rather than an error page. */
export function tracksQuery(rawQuery: Record<string, unknown>): TracksQuery {
  const pick = (name: string) =>
    typeof rawQuery[name] === 'string' && rawQuery[name] !== '' ? (rawQuery[name] as string) : undefined;
  const wanted = { q: pick('q'), sort: pick('sort'), dir: pick('dir'), page: pick('page') };
  const checked = validateForm(
    ListTracksQuery,
    Object.fromEntries(Object.entries(wanted).filter(([, v]) => v !== undefined)),
  );
  return { query: checked.value ?? {}, invalid: Boolean(checked.errors) };
}

export interface TracksPageInput {
  rawQuery: Record<string, unknown>;
  checked: TracksQuery;
  page: TrackPage;
  dropbox: DropboxState;
  dropboxRoot: string;
  form?: Fields;
  errors?: FieldErrors | null;
}

export function tracksPageModel({
  rawQuery,
  checked,
  page,
  dropbox,
  dropboxRoot,
  form: typed,
  errors,
}: TracksPageInput) {
  const { query } = checked;
  const link = (n: number, selectAll = false) => {
    const params = new URLSearchParams();
    if (query.q) params.set('q', query.q);
    if (query.sort) params.set('sort', query.sort);
    if (query.dir) params.set('dir', query.dir);
    if (n > 1) params.set('page', String(n));
    // Without JavaScript, "Select all" is this page again with every box ticked.
    if (selectAll) params.set('select', 'all');
    const text = params.toString();
    return text ? `/tracks?${text}` : '/tracks';
  };
  const form = typed ?? { title: '', artist: '', bpm: '', key: '', sharingStatus: 'private' };
  return {
    title: 'Tracks',
    nav: 'tracks',
    ...dropbox,
    query: { q: query.q ?? '' },
    queryInvalid: checked.invalid,
    sortOptions: TRACK_SORTS.map((value) => ({
      value,
      label: SORT_LABELS[value],
      selected: value === (query.sort ?? 'created'),
    })),
    dirOptions: [
      { value: '', label: 'Default order', selected: !query.dir },
      { value: 'asc', label: 'Ascending', selected: query.dir === 'asc' },
      { value: 'desc', label: 'Descending', selected: query.dir === 'desc' },
    ],
    tracks: page.items.map(trackRow),
    selectAll: rawQuery.select === 'all',
    selectAllUrl: `${link(page.page, true)}#list-title`,
    total: page.total,
    totalText: plural(page.total, 'track'),
    searching: Boolean(query.q),
    page: page.page,
    pages: page.pages,
    paged: page.pages > 1,
    prevUrl: page.page > 1 ? link(Math.min(page.page - 1, page.pages)) : null,
    nextUrl: page.page < page.pages ? link(page.page + 1) : null,
    form,
    errors: errors ?? null,
    statuses: sharingStatusRows(form.sharingStatus),
    dropboxRoot,
  };
}

// ---- One track -----------------------------------------------------------------------------------------------

export interface TrackPageInput {
  track: TrackView;
  library: Library | null;
  libraryError: string | null;
  allCollaborators: CollaboratorWithTracks[] | CollaboratorView[];
  uploads: UploadView[];
  dropbox: DropboxState;
  maxUploadBytes: number;
  /** What a refused form adds: the typed values and the messages beside the fields. */
  extra?: Record<string, unknown>;
}

export function trackPageModel({
  track,
  library,
  libraryError,
  allCollaborators: all,
  uploads,
  dropbox,
  maxUploadBytes,
  extra = {},
}: TrackPageInput) {
  const onTrack = new Set(track.collaborators.map((c) => c.id));
  const groups = library ? libraryGroups(library) : [];
  const items = library?.items ?? [];
  const editForm = (extra.editForm as Fields | undefined) ?? {
    title: track.title,
    artist: track.artist ?? '',
    bpm: track.bpm == null ? '' : String(track.bpm),
    key: track.key ?? '',
    sharingStatus: track.sharingStatus,
  };
  return {
    title: track.title,
    nav: 'tracks',
    ...dropbox,
    track: {
      ...trackRow(track),
      artworkUrl: track.artworkUrl,
      meaning: STATUS_MEANINGS[track.sharingStatus],
      dropboxFolderPath: library?.folderPath ?? track.dropboxFolderPath,
      createdAt: track.createdAt,
    },
    library: library && {
      folderMissing: library.folderMissing,
      groups,
      total: items.length,
      summary: [
        plural(items.length, 'file'),
        ...(items.some((i) => !i.imported) ? [`${items.filter((i) => !i.imported).length} not imported`] : []),
        ...(items.some((i) => i.status === 'missing')
          ? [`${items.filter((i) => i.status === 'missing').length} missing`]
          : []),
      ].join(' · '),
      hasNotImported: items.some((i) => !i.imported),
    },
    libraryError,
    uploads: uploads.filter((u) => u.status !== 'done').map(uploadRow),
    maxUploadText: binarySize(maxUploadBytes),
    categoryChoices: [
      { value: 'auto', label: 'Automatic (by file type)' },
      ...FILE_CATEGORIES.map((value) => ({ value, label: `${CATEGORY_FOLDERS[value]}` })),
    ],
    // Names already in each category, so the upload form can ask "Replace or keep both?" before sending.
    existingNames: JSON.stringify(
      Object.fromEntries(
        FILE_CATEGORIES.map((c) => [
          c,
          items.filter((i) => i.category === c && i.status !== 'missing').map((i) => i.name.toLowerCase()),
        ]),
      ),
    ),
    trackCollaborators: track.collaborators,
    availableCollaborators: all.filter((c) => !onTrack.has(c.id)),
    hasAnyCollaborators: all.length > 0,
    editForm,
    statuses: sharingStatusRows(editForm.sharingStatus),
    newCollaborator: { name: '', email: '', role: '' },
    ...extra,
  };
}

// ---- The producer's collaborators ----------------------------------------------------------------------------

export function collaboratorsPageModel(
  list: CollaboratorWithTracks[],
  extra: { form?: Fields; errors?: FieldErrors | null } = {},
) {
  return {
    title: 'Collaborators',
    nav: 'collaborators',
    collaborators: list.map((c) => ({ ...c, tracksText: plural(c.trackCount, 'track') })),
    form: extra.form ?? { name: '', email: '', role: '' },
    errors: extra.errors ?? null,
  };
}

export function collaboratorEditModel(collaborator: CollaboratorWithTracks, form: Fields, errors: FieldErrors | null) {
  return {
    title: `Edit ${collaborator.name}`,
    nav: 'collaborators',
    collaborator,
    tracksText: plural(collaborator.trackCount, 'track'),
    form,
    errors,
  };
}
