import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { AnalyzeAudioJobData, enqueuePreview, FilesJob, jobId, previewJob, QueueName } from '../../queues/queues';
import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { DropboxConflict, DropboxNotFound, UNSERVABLE_NOTE } from '../dropbox/dropbox.errors';
import { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { DropboxEntry, DropboxRevision } from '../dropbox/dropbox.types';
import { CATEGORY_FOLDERS, FileCategory, inferCategory, isAudio, isPackageFolder, isPlayable } from './file-categories';
import { Track } from './entities/track.entity';
import { TrackFile } from './entities/track-file.entity';
import {
  FileRevisionView,
  Found,
  foundItem,
  importedItem,
  Library,
  LibraryItem,
  refreshFromListing,
  relative,
} from './library-items';
import { LibraryChanges } from './library-changes';
import { TrackFileRepository } from './repositories/track-file.repository';
import { TracksService } from './tracks.service';
import { toTrackFileView, TrackFileView } from './views';
import { parseSelection } from './file-selection';
import { numberedName } from '../../common/free-names';

/** A selection naming files Dropbox won't serve: they can't go on a share or into a collaboration folder. */
function cantShare(names: string[]): BadRequestException {
  return new BadRequestException({
    field: 'files',
    message: `${names.map((n) => `“${n}”`).join(', ')} ${UNSERVABLE_NOTE}`,
  });
}

/**
 * A track's library: what was imported (PostgreSQL) beside what sits in its Dropbox folder (one recursive
 * listing). Files moved or renamed in Dropbox are followed by id; files gone from Dropbox are shown as missing.
 */
@Injectable()
export class LibraryService {
  constructor(
    private readonly files: TrackFileRepository,
    private readonly db: DbContext,
    private readonly tracks: TracksService,
    private readonly dropbox: DropboxConnectionsService,
    @InjectQueue(QueueName.Files) private readonly queue: Queue,
    @InjectQueue(QueueName.Media) private readonly media: Queue,
    private readonly changes: LibraryChanges,
  ) {}

  async library(ownerId: string, trackId: string): Promise<Library> {
    const track = await this.tracks.owned(ownerId, trackId);
    const client = await this.dropbox.clientFor(ownerId);
    const { found, folderMissing, folderPath } = await this.scan(client, track);
    const imported = await this.files.find({ track }, { orderBy: { createdAt: 'asc' } });

    const byId = new Map(found.map((f) => [f.entry.id, f]));
    const items: LibraryItem[] = [];
    for (const file of imported) {
      const seen = byId.get(file.dropboxId);
      if (seen) {
        byId.delete(file.dropboxId);
        refreshFromListing(file, seen);
      } else if (file.status !== 'missing') {
        file.status = 'missing';
      }
      items.push(importedItem(file, seen?.relativePath ?? file.dropboxPath));
    }
    await this.db.flush();
    for (const f of byId.values()) items.push(foundItem(f));
    return { trackId: track.id, folderPath, folderMissing, items };
  }

  /**
   * Imports files found in the track's folder (by Dropbox id). Already imported ones are left as they are;
   * an id that is not in the folder is refused and nothing is imported.
   */
  async importFiles(
    ownerId: string,
    trackId: string,
    dropboxIds: string[],
    options: { servableOnly?: boolean } = {},
  ): Promise<TrackFileView[]> {
    const wanted = [...new Set(dropboxIds)];
    if (wanted.length === 0) return [];
    const track = await this.tracks.owned(ownerId, trackId);
    const client = await this.dropbox.clientFor(ownerId);
    const { found } = await this.scan(client, track);
    const byId = new Map(found.map((f) => [f.entry.id, f]));
    const unknown = wanted.filter((id) => !byId.has(id));
    if (unknown.length) {
      throw new BadRequestException({
        field: 'dropboxIds',
        message: `not in this track's Dropbox folder: ${unknown.join(', ')}`,
      });
    }
    const unservable = wanted.map((id) => byId.get(id)!).filter((f) => f.entry.downloadable === false);
    if (options.servableOnly && unservable.length) throw cantShare(unservable.map((f) => f.entry.name));
    const existing = new Set(
      (await this.files.find({ track, dropboxId: { $in: wanted } }, { fields: ['dropboxId'] })).map((f) => f.dropboxId),
    );
    const created: TrackFile[] = [];
    for (const id of wanted) {
      if (existing.has(id)) continue;
      const f = byId.get(id)!;
      const file = this.files.create({
        track,
        category: inferCategory(f.entry.name, f.folders),
        name: f.entry.name,
        dropboxId: f.entry.id,
        dropboxPath: f.entry.pathDisplay,
        rev: f.entry.rev ?? null,
        size: f.size,
        contentHash: f.entry.contentHash ?? null,
        isPackage: f.isPackage,
        modifiedAt: f.entry.serverModified ? new Date(f.entry.serverModified) : null,
        unservable: f.entry.downloadable === false ? 'unsupported_file' : null,
      });
      created.push(file);
    }
    await this.db.flush();
    await this.changes.changed([track.id]);
    const audio = created.filter((f) => isPlayable(f));
    if (audio.length) {
      await this.queue.addBulk(
        audio.map((f) => ({
          name: FilesJob.AnalyzeAudio,
          data: { trackFileId: f.id } satisfies AnalyzeAudioJobData,
          opts: { jobId: jobId('analyze', f.id) },
        })),
      );
      // Previews (rendition, waveform, loudness) for listeners, built per revision by the media module.
      await this.media.addBulk(audio.map((f) => previewJob(f)));
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
      const selected = parseSelection(item);
      if (selected?.kind === 'imported') fileIds.add(selected.fileId);
      else if (selected?.kind === 'dropbox') dropboxIds.add(selected.dropboxId);
      else throw new BadRequestException({ field: 'files', message: `not a file of this track: ${item.slice(0, 80)}` });
    }
    const track = await this.tracks.owned(ownerId, trackId);
    const imported = fileIds.size ? await this.files.find({ track, id: { $in: [...fileIds] } }) : [];
    if (imported.length !== fileIds.size)
      throw new BadRequestException({ field: 'files', message: 'some selected files are not files of this track' });
    const known = dropboxIds.size ? await this.files.find({ track, dropboxId: { $in: [...dropboxIds] } }) : [];
    const refused = [...imported, ...known].filter((f) => f.unservable);
    if (refused.length) throw cantShare(refused.map((f) => f.name));
    const toImport = [...dropboxIds].filter((id) => !known.some((f) => f.dropboxId === id));
    if (toImport.length) await this.importFiles(ownerId, trackId, toImport, { servableOnly: true });
    const fresh = toImport.length ? await this.files.find({ track, dropboxId: { $in: toImport } }) : [];
    const all = new Map([...imported, ...known, ...fresh].map((f) => [f.id, f]));
    return [...all.values()];
  }

  /** The track's imported files as this server knows them (no Dropbox call), master first, then by name. */
  async importedFiles(ownerId: string, trackId: string): Promise<{ track: Track; files: TrackFile[] }> {
    const track = await this.tracks.owned(ownerId, trackId);
    const files = await this.files.find({ track }, { orderBy: { isMaster: 'desc', category: 'asc', name: 'asc' } });
    return { track, files };
  }

  /** One imported file of the producer's track; anything else is not found. */
  async ownedFile(ownerId: string, trackId: string, fileId: string): Promise<TrackFile> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.files.findOne({ id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    return file;
  }

  /**
   * What another part of the product learned about a file from Dropbox (a share link serving it): its current
   * revision, or that it is gone. Only these columns change. A new revision of an audio file gets its preview built.
   */
  async recordRevision(fileId: string, live: { rev: string; size: number; contentHash: string | null }): Promise<void> {
    const file = await this.files.recordRevision(fileId, live);
    if (file && isPlayable(file)) await enqueuePreview(this.media, { id: fileId, ...live });
  }

  /** Serving the file showed Dropbox won't hand it out (`reason`), or, with null, that it does again. */
  async markUnservable(fileId: string, reason: string | null): Promise<void> {
    await this.files.setUnservable(fileId, reason);
  }

  async markMissing(fileId: string): Promise<void> {
    await this.files.markMissing(fileId);
  }

  async setMaster(ownerId: string, trackId: string, fileId: string): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.files.findOne({ id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    if (file.category !== 'bounce' || !isAudio(file.name)) {
      throw new BadRequestException({ field: 'fileId', message: 'only an audio bounce can be the master' });
    }
    await this.db.transaction(async () => {
      await this.files.nativeUpdate({ track, isMaster: true }, { isMaster: false });
      await this.files.nativeUpdate({ id: file.id }, { isMaster: true });
    });
    file.isMaster = true;
    await this.changes.changed([track.id]);
    return toTrackFileView(file);
  }

  /** Takes the master mark off a bounce: then no file of the track is the master. */
  async unsetMaster(ownerId: string, trackId: string, fileId: string): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.files.findOne({ id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    file.isMaster = false;
    await this.db.flush();
    await this.changes.changed([track.id]);
    return toTrackFileView(file);
  }

  /**
   * Moves a file to another category: in Dropbox too, into the category's folder of the track (files/move_v2, by
   * id, so shares and the library keep following it). A name already taken there gets " (2)"…, never overwritten.
   * A file missing in Dropbox only changes category here.
   */
  async setCategory(ownerId: string, trackId: string, fileId: string, category: FileCategory): Promise<TrackFileView> {
    const track = await this.tracks.owned(ownerId, trackId);
    const file = await this.files.findOne({ id: fileId, track });
    if (!file) throw new NotFoundException('file not found');
    if (file.status !== 'missing' && track.dropboxFolderId) {
      const client = await this.dropbox.clientFor(ownerId);
      const moved = await this.moveIntoFolder(client, track, file, category);
      if (moved) Object.assign(file, { name: moved.name, dropboxPath: moved.pathDisplay });
    }
    file.category = category;
    if (category !== 'bounce') file.isMaster = false;
    await this.db.flush();
    await this.changes.changed([track.id]);
    return toTrackFileView(file);
  }

  /** A library file's revisions in Dropbox, newest first (the current one marked). Packages (folders) have none. */
  async revisions(
    ownerId: string,
    trackId: string,
    fileId: string,
  ): Promise<{ file: TrackFileView; revisions: FileRevisionView[] }> {
    const file = await this.ownedFile(ownerId, trackId, fileId);
    if (file.isPackage) return { file: toTrackFileView(file), revisions: [] };
    const client = await this.dropbox.clientFor(ownerId);
    let revisions: DropboxRevision[];
    try {
      revisions = await client.listRevisions(file.dropboxId);
    } catch (err) {
      if (err instanceof DropboxNotFound) throw new NotFoundException('this file is no longer in Dropbox');
      throw err;
    }
    const current = revisions[0]?.rev;
    return {
      file: toTrackFileView(file),
      revisions: revisions.map((r) => ({
        rev: r.rev,
        size: r.size,
        contentHash: r.contentHash,
        modifiedAt: r.serverModified,
        current: r.rev === current,
      })),
    };
  }

  /**
   * Makes an earlier revision current again (files/restore: a new revision of the same file), so every share
   * serves it from now on. A revision the file never had is refused (400 naming rev) and nothing changes.
   */
  async restore(ownerId: string, trackId: string, fileId: string, rev: string): Promise<TrackFileView> {
    const file = await this.ownedFile(ownerId, trackId, fileId);
    if (file.isPackage)
      throw new BadRequestException({ field: 'rev', message: 'a package (folder) has no revisions to restore' });
    const client = await this.dropbox.clientFor(ownerId);
    const known = await client.listRevisions(file.dropboxId, 100).catch((err: unknown) => {
      if (err instanceof DropboxNotFound) throw new NotFoundException('this file is no longer in Dropbox');
      throw err;
    });
    if (!known.some((r) => r.rev === rev))
      throw new BadRequestException({ field: 'rev', message: 'rev is not a revision of this file' });
    const entry =
      rev === known[0].rev ? await client.getMetadata(file.dropboxId) : await client.restore(file.dropboxId, rev);
    Object.assign(file, {
      rev: entry.rev ?? null,
      size: entry.size ?? file.size,
      contentHash: entry.contentHash ?? null,
      dropboxPath: entry.pathDisplay || file.dropboxPath,
      status: 'ready',
      modifiedAt: entry.serverModified ? new Date(entry.serverModified) : new Date(),
    });
    const changedBytes = entry.rev !== known[0].rev;
    // The audio facts were those of the replaced bytes: cleared, then read again by the analysis job.
    if (changedBytes && isAudio(file.name))
      Object.assign(file, {
        durationSeconds: null,
        sampleRate: null,
        bitsPerSample: null,
        channels: null,
        codec: null,
        bitrate: null,
      });
    await this.db.flush();
    await this.changes.changed([file.track.id]);
    if (changedBytes && isAudio(file.name)) {
      await this.queue.add(FilesJob.AnalyzeAudio, { trackFileId: file.id } satisfies AnalyzeAudioJobData, {
        jobId: jobId('analyze', file.id, entry.rev ?? Date.now()),
      });
      await enqueuePreview(this.media, file);
    }
    return toTrackFileView(file);
  }

  /** Forgets an imported file; it stays in Dropbox (and shows up as not imported). */
  async forget(ownerId: string, trackId: string, fileId: string): Promise<void> {
    const track = await this.tracks.owned(ownerId, trackId);
    const deleted = await this.files.nativeDelete({ id: fileId, track });
    if (!deleted) throw new NotFoundException('file not found');
    await this.changes.changed([track.id]);
  }

  /** The file's new place in Dropbox, or null when it is already in that folder (or is gone). */
  private async moveIntoFolder(
    client: DropboxAccountClient,
    track: Track,
    file: TrackFile,
    category: FileCategory,
  ): Promise<DropboxEntry | null> {
    let folder: string;
    let current: DropboxEntry;
    try {
      folder = `${await client.folderPath(track.dropboxFolderId!)}/${CATEGORY_FOLDERS[category]}`;
      current = await client.getMetadata(file.dropboxId);
    } catch (err) {
      if (err instanceof DropboxNotFound) return null;
      throw err;
    }
    if (current.pathLower.slice(0, current.pathLower.lastIndexOf('/')) === folder.toLowerCase()) return null;
    // A package (a Logic bundle is a folder) keeps its extension like a file: "Song (2).logicx" still opens.
    for (let n = 1; n <= 100; n += 1) {
      try {
        return await client.move(file.dropboxId, numberedName(`${folder}/${current.name}`, n));
      } catch (err) {
        if (!(err instanceof DropboxConflict)) throw err;
      }
    }
    throw new BadRequestException({
      field: 'category',
      message: `no free name for ${current.name} in ${CATEGORY_FOLDERS[category]}`,
    });
  }

  private async scan(
    client: DropboxAccountClient,
    track: Track,
  ): Promise<{ found: Found[]; folderMissing: boolean; folderPath: string | null }> {
    if (!track.dropboxFolderId) return { found: [], folderMissing: true, folderPath: null };
    let entries: DropboxEntry[];
    try {
      entries = await client.listFolder(track.dropboxFolderId, { recursive: true });
    } catch (err) {
      if (err instanceof DropboxNotFound)
        return { found: [], folderMissing: true, folderPath: track.dropboxFolderPath ?? null };
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
        if (entry.kind === 'file')
          packageSizes.set(owner.pathLower, (packageSizes.get(owner.pathLower) ?? 0) + (entry.size ?? 0));
        continue;
      }
      if (entry.kind === 'folder' && !isPackageFolder(entry.name)) continue;
      const rel = relative(entry.pathDisplay, folderPath) ?? entry.name;
      found.push({
        entry,
        relativePath: rel,
        folders: rel.split('/').slice(0, -1),
        isPackage: entry.kind === 'folder',
        size: entry.size ?? 0,
      });
    }
    for (const f of found) if (f.isPackage) f.size = packageSizes.get(f.entry.pathLower) ?? 0;
    return { found, folderMissing: false, folderPath };
  }
}
