import { Inject, Injectable } from '@nestjs/common';
import nodeFetch from 'node-fetch';
import { createHash, randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DropboxAuthExpired, DropboxPermanent, DropboxTransient } from './dropbox.errors';

/** What the product needs from a Dropbox account (see DROPBOX.md). */
export const DROPBOX_SCOPES = [
  'account_info.read',
  'files.metadata.read',
  'files.content.read',
  'files.content.write',
  'sharing.read',
  'sharing.write',
];

export interface TokenGrant {
  accessToken: string;
  expiresInSeconds: number;
  refreshToken?: string;
  accountId?: string;
  scope?: string;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
}

/** The code was used, expired or belongs to another client (Dropbox's `invalid_grant`). */
export class OAuthGrantRejected extends DropboxAuthExpired {}

/**
 * Dropbox's OAuth 2 endpoints: the authorization URL (code flow with PKCE, offline access) and the token
 * endpoint for code exchange and refresh. Plain HTTP calls: the SDK's own helpers keep tokens in memory only.
 */
@Injectable()
export class DropboxOAuthClient {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get configured(): boolean {
    return Boolean(this.config.dropbox.appKey);
  }

  authorizationRequest(): AuthorizationRequest {
    const state = randomBytes(32).toString('base64url');
    const codeVerifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
    const url = new URL(this.config.dropbox.authorizeUrl);
    url.search = new URLSearchParams({
      client_id: this.appKey(),
      response_type: 'code',
      redirect_uri: this.config.dropbox.redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      token_access_type: 'offline',
      scope: DROPBOX_SCOPES.join(' '),
    }).toString();
    return { url: url.toString(), state, codeVerifier };
  }

  exchangeCode(code: string, codeVerifier: string): Promise<TokenGrant> {
    return this.tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: codeVerifier,
      redirect_uri: this.config.dropbox.redirectUri,
    });
  }

  refresh(refreshToken: string): Promise<TokenGrant> {
    return this.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  private appKey(): string {
    const key = this.config.dropbox.appKey;
    if (!key)
      throw new DropboxPermanent('DROPBOX_APP_KEY is not set: the server cannot connect to Dropbox', [
        'not_configured',
      ]);
    return key;
  }

  private async tokenRequest(params: Record<string, string>): Promise<TokenGrant> {
    const body = new URLSearchParams({ ...params, client_id: this.appKey() });
    if (this.config.dropbox.appSecret) body.set('client_secret', this.config.dropbox.appSecret);
    let res;
    try {
      res = await nodeFetch(`${this.config.dropbox.apiUrl}/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
    } catch (err) {
      throw new DropboxTransient(`Dropbox could not be reached: ${(err as Error).message}`, [], 'oauth2/token');
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Non-JSON bodies are handled by status below.
    }
    if (res.ok && typeof json.access_token === 'string') {
      return {
        accessToken: json.access_token,
        expiresInSeconds: Number(json.expires_in ?? 14_400),
        refreshToken: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
        accountId: typeof json.account_id === 'string' ? json.account_id : undefined,
        scope: typeof json.scope === 'string' ? json.scope : undefined,
      };
    }
    if (res.status >= 500 || res.status === 429) {
      throw new DropboxTransient(`Dropbox's token endpoint answered ${res.status}`, [], 'oauth2/token');
    }
    const error = typeof json.error === 'string' ? json.error : 'invalid_request';
    if (error === 'invalid_grant') {
      throw new OAuthGrantRejected(String(json.error_description ?? 'the grant was refused'), [error], 'oauth2/token');
    }
    throw new DropboxPermanent(`Dropbox refused the token request: ${error}`, [error], 'oauth2/token');
  }
}
