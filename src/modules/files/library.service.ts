import { EntityManager } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { AnalyzeAudioJobData, FilesJob, jobId, QueueName } from '../../jobs/queues';
import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { DropboxNotFound, UNSERVABLE_NOTE } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { DropboxEntry } from '../dropbox/dropbox.types';
import { FileCategory, formatLabel, inferCategory, isAudio, isPackageFolder } from './file-categories';
import { Track } from './entities/track.entity';
import { TrackFile } from './entities/track-file.entity';
import { TracksService } from './tracks.service';
import { audioInfoOf, AudioInfo, toTrackFileView, TrackFileView } from './views';

/** One line of a track's library: an imported file, or a file found in the track's Dropbox folder. */
export interface LibraryItem {
  /** The TrackFile id for imported files; absent for files not yet imported. */
  id: string | null;
  imported: boolean;
  dropboxId: string;
  name: string;
  category: FileCategory;
  format: string;
  size: number;
  /** Path inside the track folder, e.g. "Stems/kick.wav". */
  relativePath: string;
  status: 'ready' | 'missing';
  /** Set when Dropbox lists the file but won't serve it: "can't be shared (Dropbox can't serve it)". */
  cantServe: string | null;
  isMaster: boolean;
  isPackage: boolean;
  audio: AudioInfo | null;
}

export interface Library {
  trackId: string;
  folderPath: string | null;
  /** The track's Dropbox folder itself is gone (deleted or moved out of reach). */
  folderMissing: boolean;
  items: LibraryItem[];
}

interface Found {
  entry: DropboxEntry;
  relativePath: string;
  folders: string[];
  isPackage: boolean;
  size: number;
}

/** A selection naming files Dropbox won't serve: they can't go on a share or into a collaboration folder. */
function cantShare(names: string[]): BadRequestException {
  return new BadRequestException({ field: 'files', message: `${names.map((n) => `“${n}”`).join(', ')} ${UNSERVABLE_NOTE}` });
}

function relative(path: string, folder: string): string | null {
  const lower = path.toLowerCase();
  const base = folder.toLowerCase().replace(/\/+$/, '');
  return lower.startsWith(`${base}/`) ? path.slice(base.length + 1) : null;
}

/**
 * A track's library: what was imported (PostgreSQL) beside what sits in its Dropbox folder (one recursive
 * listing). Files moved or renamed in Dropbox are followed by id; files gone from Dropbox are shown as missing.
 */
@Injectable()
export class LibraryService {
  constructor(
    private readonly em: EntityManager,
    private readonly tracks: TracksService,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Files) private readonly queue: Queue,
  ) {}

  async library(ownerId: string, trackId: string): Promise<Library> {
    const track = await this.tracks.owned(ownerId, trackId);
    const client = await this.dropbox.clientFor(ownerId);
    const { found, folderMissing, folderPath } = await this.scan(client, track);
    const imported = await this.em.find(TrackFile, { track }, { orderBy: { createdAt: 'asc' } });

    const byId = new Map(found.map((f) => [f.entry.id, f]));
    const items: LibraryItem[] = [];
    for (const file of imported) {
      const seen = byId.get(file.dropboxId);
      if (seen) {
        byId.delete(file.dropboxId);
        this.refresh(file, seen);
      } else if (file.status !== 'missing') {
        file.status = 'missing';
      }
      items.push(this.importedItem(file, seen?.relativePath ?? file.dropboxPath));
    }
    await this.em.flush();
    for (const f of byId.values()) items.push(this.foundItem(f));
    return { trackId: track.id, folderPath, folderMissing, items };
  }

  /**
   * Imports files found in the track's folder (by Dropbox id). Already imported ones are left as they are;
   * an id that is not in the folder is refused and nothing is imported.
   */
  async importFiles(ownerId: string, trackId: string, dropboxIds: string[], options: { servableOnly?: boolean } = {}): Promise<TrackFileView[]> {
    const wanted = [...new Set(dropboxIds)];
    if (wanted.length === 0) return [];
    const track = await this.tracks.owned(ownerId, trackId);
    const client = await this.dropbox.clientFor(ownerId);
    const { found } = await this.scan(client, track);
    const byId = new Map(found.map((f) => [f.entry.id, f]));
    const unknown = wanted.filter((id) => !byId.has(id));
    if (unknown.length) {
      throw new BadRequestException({ field: 'dropboxIds', message: `not in this track's Dropbox folder: ${unknown.join(', ')}` });
    }
    const unservable = wanted.map((id) => byId.get(id)!).filter((f) => f.entry.downloadable === false);
    if (options.servableOnly && unservable.length) throw cantShare(unservable.map((f) => f.entry.name));
    const existing = new Set(
      (await this.em.find(TrackFile, { track, dropboxId: { $in: wanted } }, { fields: ['dropboxId'] })).map((f) => f.dropboxId),
    );
    const created: TrackFile[] = [];
    for (const id of wanted) {
      if (existing.has(id)) continue;
      const f = byId.get(id)!;
      const file = this.em.create(TrackFile, {
        track,
        category: inferCategory(f.entry.name, f.folders),
        name: f.entry.name,
        dropboxId: f.entry.id,
        dropboxPath: f.entry.pathDisplay,
        rev: f.entry.rev ?? null,
        size: f.size,
        contentHash: f.entry.contentHash ?? null,
        isPackage: f.isPackage,
        unservable: f.entry.downloadable === false ? 'unsupported_file' : null,
      });
      created.push(file);
    }
    await this.em.persistAndFlush(created);
    const audio = created.filter((f) => !f.isPackage && isAudio(f.name));
    if (audio.length) {
      await this.queue.addBulk(
        audio.map((f) => ({
          name: FilesJob.AnalyzeAudio,
          data: { trackFileId: f.id } satisfies AnalyzeAudioJobData,
          opts: { jobId: jobId('analyze', f.id) },
        })),
      );
    }
    return created.map(toTrackFileView);
  }

  /**
   * Turns a selection from the Share tab into imported files, importing what isn't yet. Each item is
   * `f:<TrackFile id>` (imported) or `d:<Dropbox id>` (found in the folder, not imported). Anything that doesn't
   * belong to this track is refused (400) and nothing is imported.
   */
  async resolveSelection(ownerId: string, trackId: string, selection: string[]): Promise<TrackFile[]> {
    const fileIds = new Set<string>();
    const dropboxIds = new Set<string>();
    for (const item of selection) {
      if (/^f:[0-9a-f-]{36}$/.test(item)) fileIds.add(item.slice(2));
      else if (/^d:id:[A-Za-z0-9_-]{1,100}$/.test(item)) dropboxIds.add(item.slice(2));
      else throw new BadRequestException({ field: 'files', message: `not a file of this track: ${item.slice(0, 80)}` });
    }
    const track = await this.tracks.owned(ownerId, trackId);
    const imported = fileIds.size ? await this.em.find(TrackFile, { track, id: { $in: [...fileIds] } }) : [];
    if (imported.length !== fileIds.size) throw new BadRequestException({ field: 'files', message: 'some selected files are not files of this track' });
    const known = dropboxIds.size ? await this.em.find(TrackFile, { track, dropboxId: { $in: [...dropboxIds] } }) : [];
    const refused = [...imported, ...known].filter((f) => f.unservable);
    if (refused.length) throw cantShare(refused.map((f) => f.name));
    const toImport = [...dropboxIds].filter((id) => !known.some((f) => f.dropboxId === id));
    if (toImport.length) await this.importFiles(ownerId, trackId, toImport, { servableOnly: true });
    const fresh = toImport.length ? await this.em.find(TrackFile, { track, dropboxId: { $in: toImport } }) : [];
    const all = new Map([...imported, ...known, ...fresh].map((f) => [f.id, f]));
    return [...all.values()];
  }

  /**
   * What another part of the product learned about a file from Dropbox (a share link serving it): its current
   * revision, or that it is gone. Only these columns change.
   */
  async recordRevision(fileId: string, live: { rev: string; size: number; contentHash: string | null }): Promise<void> {
    await this.em.fork().nativeUpdate(TrackFile, { id: fileId }, { rev: live.rev, size: live.size, contentHash: live.contentHash, status: 'ready' });
  }

  /** Serving the file showed Dropbox won't hand it out (`reason`), or, with null, that it does again. */
  async markUnservable(fileId: string, reason: string | null): Promise<void> {
    await this.em.fork().nativeUpdate(TrackFile, { id: fileId }, { unservable: reason });
  }

  async markMissing(fileId: string): Promise<void> {
    await this.em.fork().nativeUpdate(TrackFile, { id: fileId, status: { $ne: 'missing' } }, { status: 'missing' });
  }

  async setMaster(ownerId: string, trackId: string, fileId: string): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.em.findOne(TrackFile, { id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    if (file.category !== 'bounce' || !isAudio(file.name)) {
      throw new BadRequestException({ field: 'fileId', message: 'only an audio bounce can be the master' });
    }
    await this.em.transactional(async (em) => {
      await em.nativeUpdate(TrackFile, { track, isMaster: true }, { isMaster: false });
      await em.nativeUpdate(TrackFile, { id: file.id }, { isMaster: true });
    });
    file.isMaster = true;
    return toTrackFileView(file);
  }

  /** Takes the master mark off a bounce: then no file of the track is the master. */
  async unsetMaster(ownerId: string, trackId: string, fileId: string): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.em.findOne(TrackFile, { id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    file.isMaster = false;
    await this.em.flush();
    return toTrackFileView(file);
  }

  async setCategory(ownerId: string, trackId: string, fileId: string, category: FileCategory): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.em.findOne(TrackFile, { id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    file.category = category;
    if (category !== 'bounce') file.isMaster = false;
    await this.em.flush();
    return toTrackFileView(file);
  }

  /** Forgets an imported file; it stays in Dropbox (and shows up as not imported). */
  async forget(ownerId: string, trackId: string, fileId: string): Promise<void> {
    const track = await this.tracks.owned(ownerId, trackId);
    const deleted = await this.em.nativeDelete(TrackFile, { id: fileId, track });
    if (!deleted) throw new NotFoundException('file not found');
  }

  private async scan(client: DropboxAccountClient, track: Track): Promise<{ found: Found[]; folderMissing: boolean; folderPath: string | null }> {
    if (!track.dropboxFolderId) return { found: [], folderMissing: true, folderPath: null };
    let entries: DropboxEntry[];
    try {
      entries = await client.listFolder(track.dropboxFolderId, { recursive: true });
    } catch (err) {
      if (err instanceof DropboxNotFound) return { found: [], folderMissing: true, folderPath: track.dropboxFolderPath ?? null };
      throw err;
    }
    let folderPath = track.dropboxFolderPath ?? '';
    // A recursive listing includes the folder itself, with its current path: a folder moved or renamed in
    // Dropbox is followed without another call. Only without that entry is the path asked for (one extra call).
    const self = entries.find((e) => e.id === track.dropboxFolderId);
    if (self) {
      folderPath = self.pathDisplay;
    } else if (entries.length && entries.some((e) => relative(e.pathDisplay, folderPath) === null)) {
      folderPath = (await client.getMetadata(track.dropboxFolderId)).pathDisplay;
    }
    if (folderPath && track.dropboxFolderPath !== folderPath) track.dropboxFolderPath = folderPath;

    const packages = entries.filter((e) => e.kind === 'folder' && isPackageFolder(e.name));
    const packageSizes = new Map(packages.map((p) => [p.pathLower, 0]));
    const insidePackage = (e: DropboxEntry) => packages.find((p) => e.pathLower.startsWith(`${p.pathLower}/`));
    const found: Found[] = [];
    for (const entry of entries) {
      const owner = insidePackage(entry);
      if (owner) {
        if (entry.kind === 'file') packageSizes.set(owner.pathLower, (packageSizes.get(owner.pathLower) ?? 0) + (entry.size ?? 0));
        continue;
      }
      if (entry.kind === 'folder' && !isPackageFolder(entry.name)) continue;
      const rel = relative(entry.pathDisplay, folderPath) ?? entry.name;
      found.push({ entry, relativePath: rel, folders: rel.split('/').slice(0, -1), isPackage: entry.kind === 'folder', size: entry.size ?? 0 });
    }
    for (const f of found) if (f.isPackage) f.size = packageSizes.get(f.entry.pathLower) ?? 0;
    return { found, folderMissing: false, folderPath };
  }

  private refresh(file: TrackFile, seen: Found): void {
    if (file.status !== 'ready') file.status = 'ready';
    if (file.dropboxPath !== seen.entry.pathDisplay) file.dropboxPath = seen.entry.pathDisplay;
    if (file.name !== seen.entry.name) file.name = seen.entry.name;
    if ((seen.entry.rev ?? null) !== (file.rev ?? null)) file.rev = seen.entry.rev ?? null;
    if (seen.size !== file.size) file.size = seen.size;
    if ((seen.entry.contentHash ?? null) !== (file.contentHash ?? null)) file.contentHash = seen.entry.contentHash ?? null;
    // The listing tells cloud documents apart; restricted content and banned links only show when served.
    if (seen.entry.downloadable === false) file.unservable = 'unsupported_file';
    else if (file.unservable === 'unsupported_file') file.unservable = null;
  }

  private importedItem(file: TrackFile, relativePath: string): LibraryItem {
    return {
      id: file.id,
      imported: true,
      dropboxId: file.dropboxId,
      name: file.name,
      category: file.category,
      format: formatLabel(file.name, file.isPackage),
      size: file.size,
      relativePath,
      status: file.status,
      cantServe: file.unservable ? UNSERVABLE_NOTE : null,
      isMaster: file.isMaster,
      isPackage: file.isPackage,
      audio: audioInfoOf(file),
    };
  }

  private foundItem(f: Found): LibraryItem {
    return {
      id: null,
      imported: false,
      dropboxId: f.entry.id,
      name: f.entry.name,
      category: inferCategory(f.entry.name, f.folders),
      format: formatLabel(f.entry.name, f.isPackage),
      size: f.size,
      relativePath: f.relativePath,
      status: 'ready',
      cantServe: f.entry.downloadable === false ? UNSERVABLE_NOTE : null,
      isMaster: false,
      isPackage: f.isPackage,
      audio: null,
    };
  }
}
