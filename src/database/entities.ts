import { ApiToken } from '../modules/accounts/entities/api-token.entity';
import { User } from '../modules/accounts/entities/user.entity';

/** Every entity, listed once, so discovery never depends on globs (works the same in ts-jest and dist). */
export const ENTITIES = [User, ApiToken];
