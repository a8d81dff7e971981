/** A user's role: admins also run the server (users, queues). */
export type UserRole = 'admin' | 'producer';

/** What a request knows about its caller; never the entity itself. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  /** How the caller proved who they are: a personal access token needs no CSRF token. */
  via: 'session' | 'token';
  /** A token's scope; a session can do everything. */
  scope: 'read' | 'full';
}
