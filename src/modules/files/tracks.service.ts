import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { DropboxConflict } from '../dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { encodeArtwork } from './artwork';
import { CreateTrackDto, ListTracksQuery, UpdateTrackDto } from './dto/track.dto';
import { CollaboratorView, toCollaboratorView, toTrackView, TrackView } from './views';
import { CATEGORY_FOLDERS, FILE_CATEGORIES, FileCategory } from './file-categories';
import { Collaborator } from './entities/collaborator.entity';
import { Track } from './entities/track.entity';
import { TrackArtwork } from './entities/track-artwork.entity';
import { TrackCollaboratorRepository } from './repositories/track-collaborator.repository';
import { TrackFileRepository } from './repositories/track-file.repository';
import { normalizeMusicalKey, safeFolderName } from './names';
import { firstFreeName } from '../../common/free-names';

export interface TrackPage {
  items: TrackView[];
  total: number;
  page: number;
  pageSize: number;
  pages: number;
}

const SORT_COLUMNS = { created: 'createdAt', updated: 'updatedAt', title: 'title', artist: 'artist' } as const;

function keyOrThrow(key: string | null | undefined): string | null | undefined {
  if (key === undefined || key === null) return key;
  const normalized = normalizeMusicalKey(key);
  if (!normalized)
    throw new BadRequestException({
      field: 'key',
      message: 'key must be a musical key such as "F# minor" or "Db major"',
    });
  return normalized;
}

@Injectable()
export class TracksService {
  constructor(
    @InjectRepository(Track) private readonly tracks: EntityRepository<Track>,
    @InjectRepository(TrackArtwork) private readonly artworks: EntityRepository<TrackArtwork>,
    private readonly files: TrackFileRepository,
    private readonly trackCollaborators: TrackCollaboratorRepository,
    private readonly db: DbContext,
    private readonly dropbox: DropboxConnectionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The owner's track, or 404 — someone else's track is indistinguishable from a missing one. */
  async owned(ownerId: string, trackId: string): Promise<Track> {
    const track = await this.tracks.findOne({ id: trackId, owner: ownerId });
    if (!track) throw new NotFoundException('track not found');
    return track;
  }

  /** Creates the track and its Dropbox folder (`<root>/<title>/{Bounces,Projects,Stems}`). */
  async create(ownerId: string, dto: CreateTrackDto): Promise<TrackView> {
    const musicalKey = keyOrThrow(dto.key);
    const client = await this.dropbox.clientFor(ownerId);
    const folderPath = await this.freeFolderPath(ownerId, dto.title);
    const folder = await this.ensureFolder(client, folderPath);
    for (const category of FILE_CATEGORIES)
      await this.ensureFolder(client, `${folder.pathDisplay}/${CATEGORY_FOLDERS[category]}`);

    const track = this.tracks.create({
      owner: ownerId,
      title: dto.title,
      artist: dto.artist ?? null,
      bpm: dto.bpm ?? null,
      musicalKey: musicalKey ?? null,
      sharingStatus: dto.sharingStatus ?? 'private',
      dropboxFolderId: folder.id,
      dropboxFolderPath: folder.pathDisplay,
    });
    await this.db.flush();
    return toTrackView(track);
  }

  async update(ownerId: string, trackId: string, dto: UpdateTrackDto): Promise<TrackView> {
    const track = await this.owned(ownerId, trackId);
    const musicalKey = keyOrThrow(dto.key);
    // Renaming keeps the Dropbox folder (tracked by id): nothing moves, nothing is lost.
    if (dto.title !== undefined) track.title = dto.title;
    if (dto.artist !== undefined) track.artist = dto.artist;
    if (dto.bpm !== undefined) track.bpm = dto.bpm;
    if (musicalKey !== undefined) track.musicalKey = musicalKey;
    if (dto.sharingStatus !== undefined) track.sharingStatus = dto.sharingStatus;
    await this.db.flush();
    return (await this.views([track]))[0];
  }

  /** Forgets the track; its Dropbox folder and files stay where they are. */
  async remove(ownerId: string, trackId: string): Promise<void> {
    const track = await this.owned(ownerId, trackId);
    this.db.remove(track);
    await this.db.flush();
  }

  async get(ownerId: string, trackId: string): Promise<TrackView> {
    return (await this.views([await this.owned(ownerId, trackId)]))[0];
  }

  async list(ownerId: string, query: ListTracksQuery): Promise<TrackPage> {
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? 25;
    const where: Record<string, unknown> = { owner: ownerId };
    const q = query.q?.trim();
    if (q) {
      const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.$or = [{ title: { $ilike: pattern } }, { artist: { $ilike: pattern } }];
    }
    const sort = SORT_COLUMNS[query.sort ?? 'created'];
    const dir = query.dir ?? (query.sort === 'title' || query.sort === 'artist' ? 'asc' : 'desc');
    const [tracks, total] = await this.tracks.findAndCount(where, {
      orderBy: { [sort]: dir, id: 'asc' },
      limit: pageSize,
      offset: (page - 1) * pageSize,
    });
    return { items: await this.views(tracks), total, page, pageSize, pages: Math.max(1, Math.ceil(total / pageSize)) };
  }

  async setArtwork(ownerId: string, trackId: string, image: Buffer): Promise<TrackView> {
    const track = await this.owned(ownerId, trackId);
    const { large, small } = await encodeArtwork(image);
    await this.db.transaction(async () => {
      await this.artworks.upsert({ track, large, small, updatedAt: new Date() });
      track.artworkVersion += 1;
      this.db.persist(track);
    });
    return (await this.views([track]))[0];
  }

  async removeArtwork(ownerId: string, trackId: string): Promise<void> {
    const track = await this.owned(ownerId, trackId);
    await this.artworks.nativeDelete({ track: track.id });
    track.artworkVersion = 0;
    await this.db.flush();
  }

  /** Artwork bytes for anyone allowed to see the track (the caller checks that). */
  async artwork(trackId: string, size: 'large' | 'small'): Promise<Buffer | null> {
    const art = await this.artworks.findOne({ track: trackId }, { fields: [size] });
    return art ? (art[size] as Buffer) : null;
  }

  /** Tracks with their file counts and collaborators: two queries for the whole page. */
  async views(tracks: Track[]): Promise<TrackView[]> {
    if (tracks.length === 0) return [];
    const ids = tracks.map((t) => t.id);
    const counts = await this.files.countsByCategory(ids);
    const links = await this.trackCollaborators.find(
      { track: { $in: ids } },
      { populate: ['collaborator'], orderBy: { addedAt: 'asc' } },
    );
    const byTrack = new Map<string, CollaboratorView[]>();
    for (const link of links) {
      const list = byTrack.get(link.track.id) ?? [];
      list.push(toCollaboratorView(link.collaborator as Collaborator));
      byTrack.set(link.track.id, list);
    }
    return tracks.map((track) => {
      const fileCounts: Record<FileCategory, number> = { bounce: 0, project: 0, stem: 0 };
      for (const row of counts) if (row.track_id === track.id) fileCounts[row.category] = row.n;
      return toTrackView(track, { fileCounts, collaborators: byTrack.get(track.id) ?? [] });
    });
  }

  /** `<root>/<title>`, with " (2)", " (3)"… when another track of this producer already uses that folder. */
  private async freeFolderPath(ownerId: string, title: string): Promise<string> {
    const base = `${this.config.files.dropboxRoot}/${safeFolderName(title)}`;
    const taken = new Set(
      (await this.tracks.find({ owner: ownerId }, { fields: ['dropboxFolderPath'] })).map((t) =>
        (t.dropboxFolderPath ?? '').toLowerCase(),
      ),
    );
    const free = firstFreeName(base, (candidate) => taken.has(candidate), 999, { folder: true });
    if (free) return free;
    throw new ConflictException({ field: 'title', message: 'too many tracks share this title' });
  }

  /** Creates a folder, or adopts the one already there (a folder the producer made, or an earlier attempt). */
  private async ensureFolder(client: Awaited<ReturnType<DropboxConnectionsService['clientFor']>>, path: string) {
    try {
      return await client.createFolder(path);
    } catch (err) {
      if (err instanceof DropboxConflict) return client.getMetadata(path);
      throw err;
    }
  }
}
