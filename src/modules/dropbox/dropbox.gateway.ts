import { Inject, Injectable } from '@nestjs/common';
import { Dropbox, DropboxResponseError } from 'dropbox';
import nodeFetch, { RequestInfo, RequestInit } from 'node-fetch';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';
import { DropboxAccountClient } from './dropbox-account.client';
import type { DropboxTransport } from './dropbox-calls';
import { DropboxAuthExpired, DropboxError, DropboxTransient, mapDropboxFailure } from './dropbox.errors';
import { DropboxTokensService } from './dropbox-tokens.service';
import type { DropboxAccountInfo, DropboxCallEvent, DropboxCallObserver } from './dropbox.types';

// The account client is the gateway's product: callers keep importing it from here.
export { DropboxAccountClient } from './dropbox-account.client';

const DROPBOX_HOSTS = /^https:\/\/(api|content|notify)\.dropboxapi\.com(?=\/|$)/;

/**
 * The SDK's fetch: node-fetch (the SDK needs its `buffer()`), with Dropbox's hosts swapped for the configured
 * base URLs — identical in production, the emulator in tests and the demo.
 */
function dropboxFetch(config: AppConfig, timeouts: { rpcMs: number; contentMs: number }) {
  const { apiUrl, contentUrl } = config.dropbox;
  return (url: RequestInfo, init?: RequestInit) => {
    let content = false;
    const target =
      typeof url === 'string'
        ? url.replace(DROPBOX_HOSTS, (_match, host: string) => {
            content = host === 'content';
            return content ? contentUrl : apiUrl;
          })
        : url;
    // A Dropbox that stops answering (rather than refusing) must not hold a page or a job forever: the call fails
    // as a network error, which is retried like any other transient failure. Content calls carry whole chunks.
    return nodeFetch(target, { ...init, timeout: content ? timeouts.contentMs : timeouts.rpcMs });
  };
}

/**
 * The only door to Dropbox. Per account: tokens (refreshed single-flight), one write at a time across all
 * processes, Retry-After honoured by every process of the account, jittered retries for transient failures,
 * and SDK errors turned into domain errors.
 */
@Injectable()
export class DropboxGateway implements DropboxTransport {
  private readonly fetch: ReturnType<typeof dropboxFetch>;
  private observer?: DropboxCallObserver;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    readonly tokens: DropboxTokensService,
    readonly redis: RedisService,
    @Inject(TUNING) private readonly tuning: Tuning,
  ) {
    this.fetch = dropboxFetch(config, {
      rpcMs: tuning.dropbox.rpcTimeoutMs,
      contentMs: tuning.dropbox.contentTimeoutMs,
    });
  }

  /** A client for a stored connection. */
  account(connection: { id: string; accountId: string }): DropboxAccountClient {
    return new DropboxAccountClient(
      connection.id,
      connection.accountId,
      this,
      this.tuning.dropbox,
      this.config.dropbox.uploadChunkBytes,
    );
  }

  /** Who a freshly issued access token belongs to (at connect time, before anything is stored). */
  async currentAccount(accessToken: string): Promise<DropboxAccountInfo> {
    try {
      const { result } = await this.sdk(accessToken).usersGetCurrentAccount();
      return { accountId: result.account_id, email: result.email, displayName: result.name.display_name };
    } catch (err) {
      throw this.toDomainError(err, 'users/get_current_account');
    }
  }

  /** Revokes a token; a token Dropbox already forgot counts as revoked. */
  async revoke(accessToken: string): Promise<void> {
    try {
      await this.sdk(accessToken).authTokenRevoke();
    } catch (err) {
      const mapped = this.toDomainError(err, 'auth/token/revoke');
      if (!(mapped instanceof DropboxAuthExpired)) throw mapped;
    }
  }

  /**
   * Metrics hook: one observer (the metrics module) hears of every Dropbox call's route, status and duration.
   * Optional so the gateway works without it (CLI tools, tests of the gateway alone).
   */
  observe(observer: DropboxCallObserver | undefined): void {
    this.observer = observer;
  }

  /** Tells the observer of one call (DropboxTransport). */
  notifyCall(event: DropboxCallEvent): void {
    try {
      this.observer?.(event);
    } catch {
      // Metrics must never break a Dropbox call.
    }
  }

  /** An SDK client for one call (DropboxTransport). */
  sdk(accessToken: string): Dropbox {
    return new Dropbox({ accessToken, fetch: this.fetch });
  }

  /** An SDK failure as the domain error that says what to do about it (DropboxTransport). */
  toDomainError(err: unknown, route: string): DropboxError {
    if (err instanceof DropboxError) return err;
    if (err instanceof DropboxResponseError) {
      return mapDropboxFailure(
        { status: err.status, headers: err.headers, body: err.error },
        route,
        this.tuning.dropbox.defaultRetryAfterMs,
      );
    }
    // node-fetch's FetchError and socket errors: the network, not Dropbox's answer. The message reaches pages and the
    // API, so it says what happened in the user's words; the network detail (address, ECONNREFUSED…) stays in `cause`
    // for the logs.
    const transient = new DropboxTransient(`Dropbox could not be reached (${route})`, [], route);
    return Object.assign(transient, { cause: err });
  }
}
