import { ApiToken } from '../modules/accounts/entities/api-token.entity';
import { User } from '../modules/accounts/entities/user.entity';
import { DropboxConnection } from '../modules/dropbox/entities/dropbox-connection.entity';

/** Every entity, listed once, so discovery never depends on globs (works the same in ts-jest and dist). */
export const ENTITIES = [User, ApiToken, DropboxConnection];
