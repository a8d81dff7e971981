import { Injectable, Logger } from '@nestjs/common';
import { SecretBox } from '../../common/crypto/secret-box';
import { tryRedisLock } from '../../common/redis/redis-lock';
import { RedisService } from '../../common/redis/redis.module';
import { ConnectionChanges } from './connection-changes';
import { DropboxAuthExpired, DropboxSpaceUsage } from './dropbox.errors';
import { DropboxOAuthClient, OAuthGrantRejected } from './dropbox-oauth.client';
import type { DropboxConnection } from './entities/dropbox-connection.entity';
import { DropboxConnectionRepository } from './repositories/dropbox-connection.repository';

/** A token this close to expiry is refreshed before use. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
const REFRESH_LOCK_TTL_MS = 30_000;
const REFRESH_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Access tokens for a connection. A refresh is single-flight per connection across every process (a Redis lock;
 * the others wait for the new token to appear in the database), the new token is persisted sealed, and a refresh
 * token that Dropbox rejects marks the connection expired instead of being retried.
 */
@Injectable()
export class DropboxTokensService {
  private readonly logger = new Logger(DropboxTokensService.name);

  constructor(
    private readonly connections: DropboxConnectionRepository,
    private readonly box: SecretBox,
    private readonly redis: RedisService,
    private readonly oauth: DropboxOAuthClient,
    private readonly changes: ConnectionChanges,
  ) {}

  sealRefreshToken(connectionId: string, token: string): string {
    return this.box.seal(token, `dropbox-refresh:${connectionId}`);
  }

  sealAccessToken(connectionId: string, token: string): string {
    return this.box.seal(token, `dropbox-access:${connectionId}`);
  }

  /**
   * A usable access token. `stale` is a token Dropbox just refused as expired: a refresh is forced unless
   * another caller already replaced it.
   */
  async accessToken(connectionId: string, stale?: string): Promise<string> {
    const deadline = Date.now() + REFRESH_WAIT_MS;
    for (;;) {
      const connection = await this.load(connectionId);
      const current = this.usableToken(connection);
      if (current && current !== stale) return current;

      const release = await tryRedisLock(
        this.redis.client,
        this.redis.key('dbx', 'refresh', connectionId),
        REFRESH_LOCK_TTL_MS,
      );
      if (release) {
        try {
          // Someone may have finished a refresh between our read and taking the lock.
          const fresh = await this.load(connectionId);
          const token = this.usableToken(fresh);
          if (token && token !== stale) return token;
          return await this.refresh(fresh);
        } finally {
          await release();
        }
      }
      if (Date.now() > deadline)
        throw new DropboxAuthExpired('timed out waiting for a Dropbox token refresh', ['refresh_timeout']);
      await sleep(25 + Math.random() * 25);
    }
  }

  async markExpired(connectionId: string, reason: string): Promise<void> {
    await this.connections.updateWhere(
      { id: connectionId },
      { status: 'expired', statusReason: reason.slice(0, 255), accessTokenSealed: null, accessTokenExpiresAt: null },
    );
    // The modules built on the connection know producers, not connections: the change names its owner.
    const userId = await this.connections.ownerOf(connectionId);
    if (userId) await this.changes.changed({ userId });
  }

  /** Dropbox refused a write because the account is full: remembered until a write succeeds. */
  async recordStorageFull(connectionId: string, usage: DropboxSpaceUsage | null): Promise<void> {
    await this.connections.updateWhere(
      { id: connectionId },
      {
        storageFullAt: new Date(),
        spaceUsedBytes: usage?.usedBytes ?? null,
        spaceAllocatedBytes: usage?.allocatedBytes ?? null,
      },
    );
  }

  /** Dropbox refused a link or a share: the account's email is not verified (or, with false, is again). */
  async recordEmailUnverified(connectionId: string, unverified: boolean): Promise<void> {
    await this.connections.updateWhere(
      unverified ? { id: connectionId } : { id: connectionId, emailUnverifiedAt: { $ne: null } },
      { emailUnverifiedAt: unverified ? new Date() : null },
    );
  }

  /** A write stored bytes again; only a connection marked full is written to. */
  async clearStorageFull(connectionId: string): Promise<void> {
    await this.connections.updateWhere(
      { id: connectionId, storageFullAt: { $ne: null } },
      { storageFullAt: null, spaceUsedBytes: null, spaceAllocatedBytes: null },
    );
  }

  private async load(connectionId: string): Promise<DropboxConnection> {
    const connection = await this.connections.withTokens(connectionId);
    if (!connection) throw new DropboxAuthExpired('this Dropbox connection was removed', ['disconnected']);
    if (connection.status !== 'active') {
      throw new DropboxAuthExpired('the Dropbox connection has expired: reconnect in Settings', [
        connection.statusReason ?? 'expired',
      ]);
    }
    return connection;
  }

  private usableToken(connection: DropboxConnection): string | null {
    if (!connection.accessTokenSealed || !connection.accessTokenExpiresAt) return null;
    if (connection.accessTokenExpiresAt.getTime() - Date.now() < EXPIRY_MARGIN_MS) return null;
    return this.box.open(connection.accessTokenSealed, `dropbox-access:${connection.id}`);
  }

  private async refresh(connection: DropboxConnection): Promise<string> {
    const refreshToken = this.box.open(connection.refreshTokenSealed, `dropbox-refresh:${connection.id}`);
    try {
      const grant = await this.oauth.refresh(refreshToken);
      const expiresAt = new Date(Date.now() + grant.expiresInSeconds * 1000);
      await this.connections.updateWhere(
        { id: connection.id },
        {
          accessTokenSealed: this.sealAccessToken(connection.id, grant.accessToken),
          accessTokenExpiresAt: expiresAt,
          lastRefreshedAt: new Date(),
          // Re-sealed with the current key, which completes a key rotation for this row.
          ...(this.box.needsReseal(connection.refreshTokenSealed)
            ? { refreshTokenSealed: this.sealRefreshToken(connection.id, refreshToken) }
            : {}),
        },
      );
      this.logger.log({ connectionId: connection.id }, 'refreshed Dropbox access token');
      return grant.accessToken;
    } catch (err) {
      if (err instanceof OAuthGrantRejected) {
        await this.markExpired(connection.id, 'refresh_token_rejected');
        throw new DropboxAuthExpired('Dropbox rejected the refresh token: reconnect in Settings', [
          'refresh_token_rejected',
        ]);
      }
      throw err;
    }
  }
}
