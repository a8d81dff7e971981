import { dropboxEmailProblem } from '../dropbox/dropbox-email';
import type { FileCategory, SharingStatus } from './file-categories';
import { formatLabel } from './file-categories';
import type { Collaborator } from './entities/collaborator.entity';
import type { Track } from './entities/track.entity';
import type { TrackFile, TrackFileStatus } from './entities/track-file.entity';

export interface CollaboratorView {
  id: string;
  name: string;
  email: string | null;
  /** Set when Dropbox would refuse the address for an invitation (an address saved before it was checked). */
  emailProblem: string | null;
  role: string;
}

export interface TrackView {
  id: string;
  title: string;
  artist: string | null;
  bpm: number | null;
  key: string | null;
  sharingStatus: SharingStatus;
  artworkUrl: string | null;
  artworkSmallUrl: string | null;
  dropboxFolderPath: string | null;
  fileCounts: Record<FileCategory, number>;
  collaborators: CollaboratorView[];
  createdAt: string;
  updatedAt: string;
}

export interface AudioInfo {
  durationSeconds: number | null;
  sampleRate: number | null;
  bitsPerSample: number | null;
  channels: number | null;
  codec: string | null;
  bitrate: number | null;
}

export interface TrackFileView {
  id: string;
  category: FileCategory;
  name: string;
  format: string;
  size: number;
  status: TrackFileStatus;
  isMaster: boolean;
  isPackage: boolean;
  dropboxPath: string;
  audio: AudioInfo | null;
  /** When the current revision was written in Dropbox (a new version moves it). */
  modifiedAt: string | null;
}

export function toCollaboratorView(c: Collaborator): CollaboratorView {
  return {
    id: c.id,
    name: c.name,
    email: c.email ?? null,
    emailProblem: c.email ? dropboxEmailProblem(c.email) : null,
    role: c.role,
  };
}

export function toTrackView(
  track: Track,
  extras: { fileCounts?: Record<FileCategory, number>; collaborators?: CollaboratorView[]; hasArtwork?: boolean } = {},
): TrackView {
  const artwork = extras.hasArtwork ?? track.artworkVersion > 0;
  return {
    id: track.id,
    title: track.title,
    artist: track.artist ?? null,
    bpm: track.bpm ?? null,
    key: track.musicalKey ?? null,
    sharingStatus: track.sharingStatus,
    artworkUrl: artwork ? `/tracks/${track.id}/artwork/large?v=${track.artworkVersion}` : null,
    artworkSmallUrl: artwork ? `/tracks/${track.id}/artwork/small?v=${track.artworkVersion}` : null,
    dropboxFolderPath: track.dropboxFolderPath ?? null,
    fileCounts: extras.fileCounts ?? { bounce: 0, project: 0, stem: 0 },
    collaborators: extras.collaborators ?? [],
    createdAt: track.createdAt.toISOString(),
    updatedAt: track.updatedAt.toISOString(),
  };
}

export function audioInfoOf(file: TrackFile): AudioInfo | null {
  if (file.durationSeconds == null && file.sampleRate == null && file.codec == null) return null;
  return {
    durationSeconds: file.durationSeconds ?? null,
    sampleRate: file.sampleRate ?? null,
    bitsPerSample: file.bitsPerSample ?? null,
    channels: file.channels ?? null,
    codec: file.codec ?? null,
    bitrate: file.bitrate ?? null,
  };
}

export function toTrackFileView(file: TrackFile): TrackFileView {
  return {
    id: file.id,
    category: file.category,
    name: file.name,
    format: formatLabel(file.name, file.isPackage),
    size: file.size,
    status: file.status,
    isMaster: file.isMaster,
    isPackage: file.isPackage,
    dropboxPath: file.dropboxPath,
    audio: audioInfoOf(file),
    modifiedAt: file.modifiedAt?.toISOString() ?? null,
  };
}
