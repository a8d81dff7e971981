import { EntityData, FilterQuery } from '@mikro-orm/core';
import { EntityRepository } from '@mikro-orm/postgresql';
import type { DropboxConnection } from '../entities/dropbox-connection.entity';

/**
 * Every read and write here runs in a fresh identity map of its own: a connection's tokens and status change under
 * other processes (a refresh, an expiry), so a caller always sees the row as the database has it now, and the
 * callers run in requests, jobs and tests alike (no context of theirs is needed).
 */
export class DropboxConnectionRepository extends EntityRepository<DropboxConnection> {
  /** The producer's connection (tokens not loaded), or null when they have none. */
  ofUser(userId: string): Promise<DropboxConnection | null> {
    return this.em.fork().findOne(this.entityName, { user: userId });
  }

  /** The connection with its sealed tokens loaded, or null when it was removed. */
  withTokens(id: string): Promise<DropboxConnection | null> {
    return this.em.fork().findOne(this.entityName, { id }, { populate: ['accessTokenSealed', 'refreshTokenSealed'] });
  }

  /**
   * Writes the producer's connection: `fill` sets its fields on the row they have (or on a new one, whose id is
   * already chosen, so tokens can be sealed to it).
   */
  async storeForUser(
    userId: string,
    created: Pick<DropboxConnection, 'accountId' | 'email' | 'displayName'>,
    fill: (connection: DropboxConnection) => void,
  ): Promise<DropboxConnection> {
    const em = this.em.fork();
    const connection =
      (await em.findOne(this.entityName, { user: userId })) ??
      em.create(this.entityName, { user: userId, ...created, refreshTokenSealed: '', scopes: '' });
    fill(connection);
    em.persist(connection);
    await em.flush();
    return connection;
  }

  /** Sets `data` on the connections `where` selects, without loading them; returns how many it changed. */
  updateWhere(where: FilterQuery<DropboxConnection>, data: EntityData<DropboxConnection>): Promise<number> {
    return this.em.fork().nativeUpdate(this.entityName, where, data);
  }

  /** The id of the producer the connection belongs to, or null when it was removed. */
  async ownerOf(id: string): Promise<string | null> {
    const row = await this.em.fork().findOne(this.entityName, { id }, { fields: ['user'] });
    return row ? row.user.id : null;
  }

  deleteById(id: string): Promise<number> {
    return this.em.fork().nativeDelete(this.entityName, { id });
  }
}
