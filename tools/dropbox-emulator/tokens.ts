import { createHash } from 'node:crypto';
import { authError, u } from './errors';
import { newSecret } from './ids';

/** Every scope the emulated app holds; tokens without an explicit scope get all of them. */
export const ALL_SCOPES = [
  'account_info.read',
  'files.metadata.read',
  'files.content.read',
  'files.content.write',
  'sharing.read',
  'sharing.write',
];

/** One authorisation of the app by an account: a refresh token and the access tokens minted from it. */
export interface GrantRecord {
  refreshToken: string;
  accountId: string;
  /** The app key the grant was made for; refreshing requires the same one. Absent for control-issued grants. */
  clientId?: string;
  scope: string[];
  revoked: boolean;
}

export interface AccessTokenRecord {
  token: string;
  refreshToken: string;
  accountId: string;
  expiresAt: number;
}

/** An OAuth authorization code: single-use, short-lived, not persisted. */
export interface AuthorizationCode {
  accountId: string;
  clientId: string;
  redirectUri?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  scope: string[];
  /** `token_access_type=offline`: the exchange hands out a refresh token. */
  offline: boolean;
  expiresAt: number;
}

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  account_id: string;
  scope: string;
}

const CODE_LIFETIME_MS = 10 * 60 * 1000;

export class TokenStore {
  private readonly grants = new Map<string, GrantRecord>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly codes = new Map<string, AuthorizationCode>();

  constructor(
    private readonly lifetimeMs: () => number,
    records: { grants: GrantRecord[]; accessTokens: AccessTokenRecord[] } = { grants: [], accessTokens: [] },
  ) {
    for (const grant of records.grants) this.grants.set(grant.refreshToken, grant);
    for (const token of records.accessTokens) this.accessTokens.set(token.token, token);
  }

  toJSON() {
    return { grants: [...this.grants.values()], accessTokens: [...this.accessTokens.values()] };
  }

  /** A new grant with its first access token, as the code exchange or the control API hands it out. */
  issue(accountId: string, scope: string[], clientId?: string, lifetimeMs?: number): IssuedTokens {
    const grant: GrantRecord = { refreshToken: newSecret(), accountId, clientId, scope, revoked: false };
    this.grants.set(grant.refreshToken, grant);
    const access = this.mint(grant, lifetimeMs);
    return {
      access_token: access.token,
      refresh_token: grant.refreshToken,
      expires_in: Math.round((access.expiresAt - Date.now()) / 1000),
      account_id: accountId,
      scope: scope.join(' '),
    };
  }

  /** A new access token for a live refresh token, or undefined (→ `invalid_grant`). */
  refresh(refreshToken: string, clientId: string | undefined): AccessTokenRecord | undefined {
    const grant = this.grants.get(refreshToken);
    if (!grant || grant.revoked) return undefined;
    if (grant.clientId && clientId !== grant.clientId) return undefined;
    return this.mint(grant);
  }

  /** Resolves a bearer token or throws the 401 Dropbox would answer. */
  authenticate(token: string): { accountId: string; scope: string[]; refreshToken: string } {
    const record = this.accessTokens.get(token);
    const grant = record && this.grants.get(record.refreshToken);
    if (!record || !grant || grant.revoked) throw authError(u('invalid_access_token'));
    if (record.expiresAt <= Date.now()) throw authError(u('expired_access_token'));
    return { accountId: record.accountId, scope: grant.scope, refreshToken: grant.refreshToken };
  }

  /** `auth/token/revoke`: the token's whole grant dies, refresh token and sibling access tokens included. */
  revokeGrant(refreshToken: string): void {
    const grant = this.grants.get(refreshToken);
    if (grant) grant.revoked = true;
  }

  /** Expires access tokens (refresh tokens stay valid): one token, or all of an account, or all. */
  expire(filter: { accessToken?: string; accountId?: string }): number {
    const records = this.select(filter);
    for (const record of records) record.expiresAt = Math.min(record.expiresAt, Date.now() - 1);
    return records.length;
  }

  /** Revokes grants: by refresh token, by one of their access tokens, by account, or all. */
  revoke(filter: { refreshToken?: string; accessToken?: string; accountId?: string }): number {
    let grants = [...this.grants.values()];
    if (filter.refreshToken) grants = grants.filter((grant) => grant.refreshToken === filter.refreshToken);
    if (filter.accessToken) {
      const owner = this.accessTokens.get(filter.accessToken)?.refreshToken;
      grants = grants.filter((grant) => grant.refreshToken === owner);
    }
    if (filter.accountId) grants = grants.filter((grant) => grant.accountId === filter.accountId);
    for (const grant of grants) grant.revoked = true;
    return grants.length;
  }

  createCode(code: Omit<AuthorizationCode, 'expiresAt'>): string {
    const value = newSecret();
    this.codes.set(value, { ...code, expiresAt: Date.now() + CODE_LIFETIME_MS });
    return value;
  }

  /** Takes a code out of circulation: whatever happens next, it can't be exchanged twice. */
  redeemCode(value: string): AuthorizationCode | undefined {
    const code = this.codes.get(value);
    this.codes.delete(value);
    return code && code.expiresAt > Date.now() ? code : undefined;
  }

  private mint(grant: GrantRecord, lifetimeMs = this.lifetimeMs()): AccessTokenRecord {
    const record: AccessTokenRecord = {
      token: `sl.emu.${newSecret(48)}`,
      refreshToken: grant.refreshToken,
      accountId: grant.accountId,
      expiresAt: Date.now() + lifetimeMs,
    };
    this.accessTokens.set(record.token, record);
    return record;
  }

  private select(filter: { accessToken?: string; accountId?: string }): AccessTokenRecord[] {
    return [...this.accessTokens.values()].filter(
      (record) =>
        (!filter.accessToken || record.token === filter.accessToken) &&
        (!filter.accountId || record.accountId === filter.accountId),
    );
  }
}

/** PKCE: does `verifier` match the challenge sent to /oauth2/authorize? */
export function verifierMatches(verifier: string, challenge: string, method = 'S256'): boolean {
  if (method === 'plain') return verifier === challenge;
  return createHash('sha256').update(verifier).digest('base64url') === challenge;
}
