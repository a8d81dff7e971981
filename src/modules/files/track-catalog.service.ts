import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Injectable, NotFoundException } from '@nestjs/common';
import { FileCategory } from './file-categories';
import { Track } from './entities/track.entity';
import { TrackFile } from './entities/track-file.entity';

/**
 * What other modules read of the library's tables (share and collaboration contents, previews, comments): they call
 * this instead of querying tracks and files themselves, so the files module stays the only way to its tables.
 * Writes to those tables go through LibraryService and TracksService.
 */
@Injectable()
export class TrackCatalog {
  constructor(
    @InjectRepository(Track) private readonly tracks: EntityRepository<Track>,
    @InjectRepository(TrackFile) private readonly files: EntityRepository<TrackFile>,
  ) {}

  /** The owner's tracks among `ids` (someone else's, or a missing one, is simply not in the result). */
  ownedTracks(ownerId: string, ids: string[]): Promise<Track[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.tracks.find({ id: { $in: ids }, owner: ownerId });
  }

  /** The owner's tracks `ids` in that order, or 404 when one of them isn't theirs. */
  async ownedTracksOr404(ownerId: string, ids: string[]): Promise<Track[]> {
    const byId = new Map((await this.ownedTracks(ownerId, ids)).map((t) => [t.id, t]));
    if (ids.some((id) => !byId.has(id))) throw new NotFoundException('track not found');
    return ids.map((id) => byId.get(id)!);
  }

  /** How many of `fileIds` (distinct) are files of the track. */
  countFilesOfTrack(trackId: string, fileIds: string[]): Promise<number> {
    return this.files.count({ track: trackId, id: { $in: [...new Set(fileIds)] } });
  }

  /** The ids of the track's files in these categories (a share that follows them). */
  async fileIdsIn(trackId: string, categories: FileCategory[]): Promise<string[]> {
    if (categories.length === 0) return [];
    const found = await this.files.find({ track: trackId, category: { $in: categories } }, { fields: ['id'] });
    return found.map((f) => f.id);
  }

  /** The files with these ids (any owner: the caller has already checked they are on something it holds). */
  filesByIds(ids: string[]): Promise<TrackFile[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.files.find({ id: { $in: ids } });
  }

  /** File names by id, for lists that show which file something is about. */
  async fileNames(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const found = await this.files.find({ id: { $in: [...new Set(ids)] } }, { fields: ['id', 'name'] });
    return new Map(found.map((f) => [f.id, f.name]));
  }

  /** A file with its track loaded (a job that acts for the file's owner), or null when it is gone. */
  fileWithTrack(id: string): Promise<TrackFile | null> {
    return this.files.findOne({ id }, { populate: ['track'] });
  }
}
