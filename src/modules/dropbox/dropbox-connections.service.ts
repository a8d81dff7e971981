import { Injectable, Logger } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { DropboxAuthExpired, DropboxError, EMAIL_UNVERIFIED_MESSAGE } from './dropbox.errors';
import { DropboxAccountClient, DropboxGateway } from './dropbox.gateway';
import { DropboxOAuthClient, OAuthGrantRejected } from './dropbox-oauth.client';
import { ConnectionChanges } from './connection-changes';
import { DropboxTokensService } from './dropbox-tokens.service';
import type { DropboxConnection } from './entities/dropbox-connection.entity';
import { DropboxConnectionRepository } from './repositories/dropbox-connection.repository';
import type { DropboxAccountInfo } from './dropbox.types';
import { storageFullMessage } from './storage-full';

/** The part of an authorization attempt kept in the producer's session until Dropbox sends them back. */
export interface PendingAuthorization {
  state: string;
  codeVerifier: string;
  startedAt: number;
}

export interface DropboxConnectionView {
  connected: boolean;
  configured: boolean;
  status?: 'active' | 'expired';
  statusReason?: string | null;
  accountId?: string;
  email?: string;
  displayName?: string;
  connectedAt?: string;
  lastRefreshedAt?: string | null;
  /** Set while Dropbox says the account's email is not verified: no links, no sharing until it is. */
  emailUnverified?: { message: string; since: string } | null;
  /** Set while Dropbox last said the account is full: what to tell the producer. */
  storageFull?: { message: string; since: string } | null;
}

/** What a finished authorization leaves: the account and its tokens. */
export interface StoredGrant extends DropboxAccountInfo {
  refreshToken: string;
  accessToken: string;
  expiresInSeconds: number;
  scope: string;
}

/** A connect attempt that must be started again; the message is for the producer. */
export class ConnectFailed extends Error {}

const AUTHORIZATION_TTL_MS = 15 * 60_000;

function sameState(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

@Injectable()
export class DropboxConnectionsService {
  private readonly logger = new Logger(DropboxConnectionsService.name);

  constructor(
    private readonly connections: DropboxConnectionRepository,
    private readonly oauth: DropboxOAuthClient,
    private readonly tokens: DropboxTokensService,
    private readonly gateway: DropboxGateway,
    private readonly changes: ConnectionChanges,
  ) {}

  get configured(): boolean {
    return this.oauth.configured;
  }

  startAuthorization(): { url: string; pending: PendingAuthorization } {
    const request = this.oauth.authorizationRequest();
    return {
      url: request.url,
      pending: { state: request.state, codeVerifier: request.codeVerifier, startedAt: Date.now() },
    };
  }

  /**
   * Finishes the OAuth round trip. Checks `state` against the attempt started in this session, exchanges the code
   * (PKCE), reads the account and stores the connection with its tokens sealed. Nothing is stored on failure.
   */
  async completeAuthorization(
    userId: string,
    pending: PendingAuthorization | undefined,
    callback: { code?: string; state?: string; error?: string; errorDescription?: string },
  ): Promise<DropboxConnectionView> {
    if (
      !pending ||
      !callback.state ||
      !sameState(pending.state, callback.state) ||
      Date.now() - pending.startedAt > AUTHORIZATION_TTL_MS
    ) {
      throw new ConnectFailed(
        'This connection attempt is no longer valid (it expired or came from another window). Please start again.',
      );
    }
    if (callback.error) {
      throw new ConnectFailed(
        callback.error === 'access_denied'
          ? 'Dropbox access was not granted, so nothing was connected. You can try again at any time.'
          : `Dropbox could not complete the connection (${callback.error}). Please try again.`,
      );
    }
    if (!callback.code) throw new ConnectFailed('Dropbox did not send an authorization code. Please start again.');

    let grant;
    try {
      grant = await this.oauth.exchangeCode(callback.code, pending.codeVerifier);
    } catch (err) {
      if (err instanceof OAuthGrantRejected) {
        throw new ConnectFailed(
          'Dropbox refused the authorization code (it was already used or has expired). Please start again.',
        );
      }
      throw err;
    }
    if (!grant.refreshToken) throw new ConnectFailed('Dropbox did not grant offline access. Please start again.');
    const account = await this.gateway.currentAccount(grant.accessToken);

    const view = await this.store(userId, {
      ...account,
      refreshToken: grant.refreshToken,
      accessToken: grant.accessToken,
      expiresInSeconds: grant.expiresInSeconds,
      scope: grant.scope ?? '',
    });
    this.logger.log({ userId, accountId: account.accountId }, 'Dropbox connected');
    return view;
  }

  /**
   * Stores (or replaces) a producer's connection with its tokens sealed. The end of every OAuth round trip; the
   * demo and the tests also use it with tokens the emulator issued directly.
   */
  async store(userId: string, grant: StoredGrant): Promise<DropboxConnectionView> {
    const account = { accountId: grant.accountId, email: grant.email, displayName: grant.displayName };
    const connection = await this.connections.storeForUser(userId, account, (connection) => {
      Object.assign(connection, account);
      connection.refreshTokenSealed = this.tokens.sealRefreshToken(connection.id, grant.refreshToken);
      connection.accessTokenSealed = this.tokens.sealAccessToken(connection.id, grant.accessToken);
      connection.accessTokenExpiresAt = new Date(Date.now() + grant.expiresInSeconds * 1000);
      connection.scopes = grant.scope;
      connection.status = 'active';
      connection.statusReason = null;
      connection.connectedAt = new Date();
    });
    // Share pages rendered while it was expired said "downloads are paused": they go at once.
    await this.changes.changed({ userId });
    return this.toView(connection);
  }

  /** Revokes the token at Dropbox (best effort: it may already be dead) and forgets the connection. */
  async disconnect(userId: string): Promise<boolean> {
    const connection = await this.connections.ofUser(userId);
    if (!connection) return false;
    try {
      const token = await this.tokens.accessToken(connection.id);
      await this.gateway.revoke(token);
    } catch (err) {
      if (!(err instanceof DropboxError)) throw err;
      this.logger.warn({ userId, error: err.message }, 'could not revoke the Dropbox token; forgetting it anyway');
    }
    await this.connections.deleteById(connection.id);
    await this.changes.changed({ userId });
    return true;
  }

  async status(userId: string): Promise<DropboxConnectionView> {
    const connection = await this.connections.ofUser(userId);
    return connection ? this.toView(connection) : { connected: false, configured: this.configured };
  }

  /** Asks Dropbox again whether the account's email is verified (after the producer verified it there). */
  async recheckEmail(userId: string): Promise<DropboxConnectionView> {
    await (await this.clientFor(userId)).checkEmailVerified();
    return this.status(userId);
  }

  /** The active connection's client, or an error that tells the producer to connect or reconnect. */
  async clientFor(userId: string): Promise<DropboxAccountClient> {
    const connection = await this.connections.ofUser(userId);
    if (!connection)
      throw new DropboxAuthExpired('Dropbox is not connected: connect it in Settings', ['not_connected']);
    if (connection.status !== 'active') {
      throw new DropboxAuthExpired('the Dropbox connection has expired: reconnect in Settings', [
        connection.statusReason ?? 'expired',
      ]);
    }
    return this.gateway.account(connection);
  }

  private toView(connection: DropboxConnection): DropboxConnectionView {
    return {
      connected: true,
      configured: this.configured,
      status: connection.status,
      statusReason: connection.statusReason,
      accountId: connection.accountId,
      email: connection.email,
      displayName: connection.displayName,
      connectedAt: connection.connectedAt.toISOString(),
      lastRefreshedAt: connection.lastRefreshedAt?.toISOString() ?? null,
      emailUnverified: connection.emailUnverifiedAt
        ? { since: connection.emailUnverifiedAt.toISOString(), message: EMAIL_UNVERIFIED_MESSAGE }
        : null,
      storageFull: connection.storageFullAt
        ? {
            since: connection.storageFullAt.toISOString(),
            message: storageFullMessage(
              connection.spaceUsedBytes != null && connection.spaceAllocatedBytes != null
                ? { usedBytes: connection.spaceUsedBytes, allocatedBytes: connection.spaceAllocatedBytes }
                : null,
            ),
          }
        : null,
    };
  }
}
