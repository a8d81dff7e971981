import type { EmulatorAccount, IssuedToken } from './control';

/**
 * An account and a token issued for it, as what a finished OAuth round trip leaves for an app to store: how the demo,
 * tests and benchmarks connect a producer without the consent screen.
 */
export function connectionGrant(
  account: Pick<EmulatorAccount, 'account_id' | 'email' | 'display_name'>,
  issued: IssuedToken,
) {
  return {
    accountId: account.account_id,
    email: account.email,
    displayName: account.display_name,
    refreshToken: issued.refresh_token,
    accessToken: issued.access_token,
    expiresInSeconds: issued.expires_in,
    scope: issued.scope,
  };
}
