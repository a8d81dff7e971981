import type { users } from 'dropbox';
import { rootInfoOf } from '../path-root';
import { quotaOf, usedBytes } from '../quota';
import { ApiRoute, json } from './route';

export const accountRoutes: Record<string, ApiRoute> = {
  'users/get_current_account': {
    style: 'rpc',
    scope: 'account_info.read',
    handle({ account }) {
      const [givenName, ...rest] = account.display_name.split(' ');
      const result: users.FullAccount = {
        account_id: account.account_id,
        name: {
          given_name: givenName,
          surname: rest.join(' '),
          familiar_name: givenName,
          display_name: account.display_name,
          abbreviated_name: account.display_name
            .split(' ')
            .map((word) => word.charAt(0).toUpperCase())
            .join(''),
        },
        email: account.email,
        email_verified: account.emailVerified !== false,
        disabled: false,
        country: 'US',
        locale: 'en',
        referral_link: `https://www.dropbox.com/referrals/${account.uid}`,
        is_paired: false,
        account_type: { '.tag': account.team ? 'business' : 'basic' },
        // A team member's root is the team's namespace; their own folder is the home namespace inside it.
        root_info: rootInfoOf(account) as users.FullAccount['root_info'],
      };
      return json(result);
    },
  },

  /** Used space from the files stored, allocation from the account's quota (control API). */
  'users/get_space_usage': {
    style: 'rpc',
    scope: 'account_info.read',
    handle({ account, namespace }) {
      return json({
        used: usedBytes(namespace),
        allocation: { '.tag': 'individual', allocated: quotaOf(account) },
      } satisfies users.SpaceUsage);
    },
  },

  /** Revokes the calling token's grant: its refresh token and every access token minted from it. */
  'auth/token/revoke': {
    style: 'rpc',
    handle({ emulator, refreshToken }) {
      emulator.state.tokens.revokeGrant(refreshToken);
      return json(null);
    },
  },
};
