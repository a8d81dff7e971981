import { ApiToken } from '../modules/accounts/entities/api-token.entity';
import { User } from '../modules/accounts/entities/user.entity';
import { DropboxConnection } from '../modules/dropbox/entities/dropbox-connection.entity';
import { Collaborator } from '../modules/files/entities/collaborator.entity';
import { Track } from '../modules/files/entities/track.entity';
import { TrackArtwork } from '../modules/files/entities/track-artwork.entity';
import { TrackCollaborator } from '../modules/files/entities/track-collaborator.entity';
import { TrackFile } from '../modules/files/entities/track-file.entity';
import { Upload } from '../modules/files/entities/upload.entity';

/** Every entity, listed once, so discovery never depends on globs (works the same in ts-jest and dist). */
export const ENTITIES = [User, ApiToken, DropboxConnection, Track, TrackArtwork, Collaborator, TrackCollaborator, TrackFile, Upload];
