import { EntityManager } from '@mikro-orm/postgresql';
import { BadRequestException, Injectable, NotFoundException, OnModuleInit } from '@nestjs/common';
import { ConnectionChange, ConnectionChanges } from '../dropbox/connection-changes';
import { FILE_CATEGORIES, FileCategory } from '../files/file-categories';
import { Track } from '../files/entities/track.entity';
import { TrackFile } from '../files/entities/track-file.entity';
import { LibraryChanges } from '../files/library-changes';
import { LibraryService } from '../files/library.service';
import { MAX_SHARE_TRACKS, ShareTrackSelectionDto } from './dto/share.dto';
import { Share } from './entities/share.entity';
import { ShareFile } from './entities/share-file.entity';
import { ShareTrack } from './entities/share-track.entity';
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
    private readonly em: EntityManager,
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
    const connection = this.em.getConnection();
    const shares = change.userId
      ? await connection.execute<Array<{ token_hash: string }>>(
          `select token_hash from shares where owner_id = ?
           union all select r.token_hash from share_recipients r join shares s on s.id = r.share_id where s.owner_id = ?`,
          [change.userId, change.userId],
        )
      : await connection.execute<Array<{ token_hash: string }>>(
          `select s.token_hash from shares s join dropbox_connections c on c.user_id = s.owner_id where c.id = ?
           union all
           select r.token_hash from share_recipients r join shares s on s.id = r.share_id join dropbox_connections c on c.user_id = s.owner_id where c.id = ?`,
          [change.connectionId, change.connectionId],
        );
    for (const { token_hash } of shares) await this.access.invalidatePageByHash(token_hash);
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

    const found = await this.em.find(Track, { id: { $in: trackIds }, owner: ownerId });
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
      const known = await this.em.count(TrackFile, { track: selection.trackId, id: { $in: [...new Set(fileIds)] } });
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
      const followed = follow.length
        ? await this.em.find(TrackFile, { track, category: { $in: follow } }, { fields: ['id'] })
        : [];
      tracks.push({ track, fileIds: [...new Set([...picked.map((f) => f.id), ...followed.map((f) => f.id)])], follow });
    }
    return { tracks };
  }

  /** A new share's rows (flushed by the caller with the share). */
  add(share: Share, contents: ResolvedContents): void {
    contents.tracks.forEach(({ track, fileIds, follow }, position) => {
      this.em.create(ShareTrack, { share, track, position, follow });
      for (const id of fileIds) this.em.create(ShareFile, { share, file: this.em.getReference(TrackFile, id) });
    });
  }

  /**
   * Turns an existing share's rows into `contents` in the unit of work (the caller flushes once): tracks and files
   * no longer wanted go, new ones come, positions and followed categories are updated. The share row — its token,
   * its counters — stays.
   */
  async replace(share: Share, contents: ResolvedContents): Promise<void> {
    const wantedTracks = new Map(contents.tracks.map((t, position) => [t.track.id, { ...t, position }]));
    const current = await this.em.find(ShareTrack, { share });
    for (const st of current) {
      const wanted = wantedTracks.get(st.track.id);
      if (!wanted) {
        this.em.remove(st);
        continue;
      }
      st.position = wanted.position;
      st.follow = wanted.follow;
      wantedTracks.delete(st.track.id);
    }
    for (const { track, position, follow } of wantedTracks.values())
      this.em.create(ShareTrack, { share, track, position, follow });

    const wantedFiles = new Set(contents.tracks.flatMap((t) => t.fileIds));
    const files = await this.em.find(ShareFile, { share });
    for (const item of files) {
      if (!wantedFiles.delete(item.file.id)) this.em.remove(item);
    }
    for (const id of wantedFiles) this.em.create(ShareFile, { share, file: this.em.getReference(TrackFile, id) });
  }

  /** Files of a share, by track, as selection values (`f:<id>`), for the owner's views. */
  async filesByShare(shareIds: string[]): Promise<Map<string, Map<string, string[]>>> {
    const rows = shareIds.length
      ? await this.em.getConnection().execute<Array<{ share_id: string; track_id: string; file_id: string }>>(
          `select sf.share_id, tf.track_id, sf.file_id from share_files sf join track_files tf on tf.id = sf.file_id
             where sf.share_id in (?) order by tf.created_at, tf.id`,
          [shareIds],
        )
      : [];
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
   * A library changed: files of followed categories join the shares following them (one statement, idempotent),
   * and every share showing these tracks drops its rendered page so recipients see the change at once.
   */
  async libraryChanged(trackIds: string[]): Promise<void> {
    const connection = this.em.getConnection();
    await connection.execute(
      `insert into share_files (share_id, file_id)
       select st.share_id, tf.id from share_tracks st
       join track_files tf on tf.track_id = st.track_id and tf.category = any(st.follow)
       where st.track_id in (?)
       on conflict do nothing`,
      [trackIds],
    );
    const shares = await connection.execute<Array<{ token_hash: string }>>(
      `select s.token_hash from shares s join share_tracks st on st.share_id = s.id where st.track_id in (?)
       union
       select r.token_hash from share_recipients r join share_tracks st on st.share_id = r.share_id where st.track_id in (?)`,
      [trackIds, trackIds],
    );
    for (const { token_hash } of shares) await this.access.invalidatePageByHash(token_hash);
  }
}
