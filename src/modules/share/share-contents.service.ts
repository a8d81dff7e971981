import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { BadRequestException, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import { ConnectionChange, ConnectionChanges } from '../dropbox/connection-changes';
import { FILE_CATEGORIES, FileCategory } from '../files/file-categories';
import type { Track } from '../files/entities/track.entity';
import { LibraryChanges } from '../files/library-changes';
import { LibraryService } from '../files/library.service';
import { TrackCatalog } from '../files/track-catalog.service';
import { DbContext } from '../../database/db-context';
import { MAX_SHARE_TRACKS, ShareTrackSelectionDto } from './dto/share.dto';
import type { Share } from './entities/share.entity';
import { ShareTrack } from './entities/share-track.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRepository } from './repositories/share.repository';
import { ShareAccessService } from './share-access.service';
import { isUuid } from '../../common/ids';
import { importedSelection, parseSelection } from '../files/file-selection';

/** A share's contents as resolved from a request: tracks in order, each with its files and followed categories. */
export interface ResolvedContents {
  tracks: Array<{ track: Track; fileIds: string[]; follow: FileCategory[] }>;
}

/**
 * What a share holds: its tracks in order, their files, and the categories a track follows. Followed categories
 * are kept materialised in `share_files` (every reader — page, file routes, ZIP — keeps reading one table), filled
 * when the contents are saved and again whenever a followed track's library changes.
 */
@Injectable()
export class ShareContentsService implements OnModuleInit {
  constructor(
    private readonly shares: ShareRepository,
    @InjectRepository(ShareTrack) private readonly shareTracks: EntityRepository<ShareTrack>,
    private readonly shareFiles: ShareFileRepository,
    private readonly catalog: TrackCatalog,
    private readonly db: DbContext,
    private readonly library: LibraryService,
    private readonly changes: LibraryChanges,
    private readonly access: ShareAccessService,
    private readonly connections: ConnectionChanges,
  ) {}

  onModuleInit(): void {
    this.changes.subscribe(({ trackIds }) => this.libraryChanged(trackIds));
    this.connections.subscribe((change) => this.connectionChanged(change));
  }

  /** The owner's Dropbox connection changed (expired, reconnected…): every page of theirs says so at once. */
  async connectionChanged(change: ConnectionChange): Promise<void> {
    const hashes = await this.shares.linkHashesOfOwner(change.userId);
    for (const hash of hashes) await this.access.invalidatePageByHash(hash);
  }

  /**
   * Checks a whole selection before anything is written: each track once and the owner's (a track of another
   * producer is refused like an unknown one, `notOwned` decides how), each `f:` file a file of its track. Then
   * imports the `d:` files not imported yet and adds the files of followed categories.
   */
  async resolve(
    ownerId: string,
    selections: ShareTrackSelectionDto[],
    notOwned: 'not-found' | 'bad-request',
  ): Promise<ResolvedContents> {
    const trackIds = selections.map((s) => s.trackId);
    if (trackIds.length === 0)
      throw new BadRequestException({ field: 'tracks', message: 'tracks must name at least one track' });
    if (trackIds.length > MAX_SHARE_TRACKS) {
      throw new BadRequestException({
        field: 'tracks',
        message: `a share holds at most ${MAX_SHARE_TRACKS} tracks; ${trackIds.length} were given`,
      });
    }
    if (new Set(trackIds).size !== trackIds.length)
      throw new BadRequestException({ field: 'tracks', message: 'tracks must not name a track twice' });
    if (trackIds.some((id) => !isUuid(id)))
      throw new BadRequestException({ field: 'tracks', message: 'tracks must be track ids' });
    if (!selections.some((s) => s.files.length > 0 || (s.follow?.length ?? 0) > 0)) {
      throw new BadRequestException({
        field: 'files',
        message: 'select at least one file to share (or follow a category)',
      });
    }

    const found = await this.catalog.ownedTracks(ownerId, trackIds);
    const byId = new Map(found.map((t) => [t.id, t]));
    const foreign = trackIds.findIndex((id) => !byId.has(id));
    if (foreign >= 0) {
      if (notOwned === 'not-found') throw new NotFoundException('track not found');
      throw new BadRequestException({
        field: `tracks.${foreign}.trackId`,
        message: `tracks.${foreign}.trackId is not one of your tracks`,
      });
    }

    // Every imported file named must belong to its track, checked for all tracks before anything is imported.
    for (const [i, selection] of selections.entries()) {
      const fileIds = selection.files.flatMap((item) => {
        const selected = parseSelection(item);
        return selected?.kind === 'imported' ? [selected.fileId] : [];
      });
      if (fileIds.length === 0) continue;
      const known = await this.catalog.countFilesOfTrack(selection.trackId, fileIds);
      if (known !== new Set(fileIds).size) {
        throw new BadRequestException({
          field: `tracks.${i}.files`,
          message: `tracks.${i}.files names files that are not files of this track`,
        });
      }
    }

    const tracks: ResolvedContents['tracks'] = [];
    for (const selection of selections) {
      const track = byId.get(selection.trackId)!;
      const picked = selection.files.length
        ? await this.library.resolveSelection(ownerId, track.id, selection.files)
        : [];
      const follow = FILE_CATEGORIES.filter((c) => selection.follow?.includes(c));
      const followed = await this.catalog.fileIdsIn(track.id, follow);
      tracks.push({ track, fileIds: [...new Set([...picked.map((f) => f.id), ...followed])], follow });
    }
    return { tracks };
  }

  /** A new share's rows (flushed by the caller with the share). */
  add(share: Share, contents: ResolvedContents): void {
    contents.tracks.forEach(({ track, fileIds, follow }, position) => {
      this.shareTracks.create({ share, track, position, follow });
      for (const id of fileIds) this.shareFiles.create({ share, file: id });
    });
  }

  /**
   * Turns an existing share's rows into `contents` in the unit of work (the caller flushes once): tracks and files
   * no longer wanted go, new ones come, positions and followed categories are updated. The share row — its token,
   * its counters — stays.
   */
  async replace(share: Share, contents: ResolvedContents): Promise<void> {
    const wantedTracks = new Map(contents.tracks.map((t, position) => [t.track.id, { ...t, position }]));
    const current = await this.shareTracks.find({ share });
    for (const st of current) {
      const wanted = wantedTracks.get(st.track.id);
      if (!wanted) {
        this.db.remove(st);
        continue;
      }
      st.position = wanted.position;
      st.follow = wanted.follow;
      wantedTracks.delete(st.track.id);
    }
    for (const { track, position, follow } of wantedTracks.values())
      this.shareTracks.create({ share, track, position, follow });

    const wantedFiles = new Set(contents.tracks.flatMap((t) => t.fileIds));
    const files = await this.shareFiles.find({ share });
    for (const item of files) {
      if (!wantedFiles.delete(item.file.id)) this.db.remove(item);
    }
    for (const id of wantedFiles) this.shareFiles.create({ share, file: id });
  }

  /** Files of a share, by track, as selection values (`f:<id>`), for the owner's views. */
  async filesByShare(shareIds: string[]): Promise<Map<string, Map<string, string[]>>> {
    const rows = await this.shareFiles.filesWithTrack(shareIds);
    const result = new Map<string, Map<string, string[]>>();
    for (const row of rows) {
      const byTrack = result.get(row.share_id) ?? new Map<string, string[]>();
      const list = byTrack.get(row.track_id) ?? [];
      list.push(importedSelection(row.file_id));
      byTrack.set(row.track_id, list);
      result.set(row.share_id, byTrack);
    }
    return result;
  }

  /**
   * A library changed: files of followed categories join the shares following them (idempotent),
   * and every share showing these tracks drops its rendered page so recipients see the change at once.
   */
  async libraryChanged(trackIds: string[]): Promise<void> {
    // The libraries as committed, whatever the caller's context has loaded.
    await this.db.run(() => this.addFollowedFiles(trackIds));
    for (const hash of await this.shares.linkHashesShowingTracks(trackIds))
      await this.access.invalidatePageByHash(hash);
  }

  /**
   * The files now in the categories each share follows on these tracks join it (idempotent). A file deleted while
   * this runs refuses the insert; its deletion is a library change of its own, which runs this again.
   */
  private async addFollowedFiles(trackIds: string[]): Promise<void> {
    const following = (await this.shareTracks.find({ track: { $in: trackIds } })).filter((st) => st.follow.length);
    // Shares following the same categories of a track read its files once.
    const filesFollowed = new Map<string, string[]>();
    const rows: Array<{ share: string; file: string }> = [];
    for (const st of following) {
      const key = `${st.track.id}|${[...st.follow].sort().join(',')}`;
      let files = filesFollowed.get(key);
      if (!files) filesFollowed.set(key, (files = await this.catalog.fileIdsIn(st.track.id, st.follow)));
      for (const file of files) rows.push({ share: st.share.id, file });
    }
    await this.shareFiles.addMissing(rows);
  }
}
