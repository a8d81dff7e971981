import {
  DropboxAuthExpired,
  DropboxError,
  DropboxStorageFull,
  EMAIL_UNVERIFIED_MESSAGE,
  refusedMemberOf,
} from '../dropbox/dropbox.errors';
import { storageFullMessage } from '../dropbox/storage-full';

/** A refusal the producer can act on: a stable code for the API and a sentence for the panel. */
export interface Refusal {
  code: string;
  message: string;
  /** The collaborator's address Dropbox refused, when it named one. */
  email?: string;
}

/**
 * Dropbox's permanent refusals in plain words, decided from the error's tag chain. Anything not listed keeps
 * Dropbox's tags so support can tell what happened.
 */
export function explainRefusal(err: DropboxError): Refusal {
  if (err instanceof DropboxAuthExpired) {
    return {
      code: 'connection_expired',
      message: 'Your Dropbox connection has expired or was revoked. Reconnect Dropbox in Settings, then press Retry.',
    };
  }
  const tags = err.tags;
  const has = (tag: string) => tags.includes(tag);
  if (has('bad_member') && (has('invalid_email') || has('invalid_dropbox_id') || has('unverified_dropbox_id'))) {
    const email = refusedMemberOf(err);
    return {
      code: 'invalid_email',
      email,
      message: `Dropbox does not accept ${email ? `“${email}”` : 'one of the addresses'} as an email address. Correct it under Collaborators, then press Retry.`,
    };
  }
  if (has('too_many_pending_invites')) {
    return {
      code: 'too_many_pending_invites',
      message:
        'This folder has too many invitations waiting to be accepted. Ask collaborators to accept (or remove some), then press Retry.',
    };
  }
  if (has('too_many_invitees')) {
    return {
      code: 'too_many_invitees',
      message: 'Dropbox refused to invite this many people in one go. Press Retry to invite them in smaller groups.',
    };
  }
  if (has('rate_limit')) {
    return {
      code: 'daily_invite_limit',
      message: 'Dropbox’s daily limit on invitations has been reached. Try again in 24 hours.',
    };
  }
  if (has('insufficient_plan')) {
    return {
      code: 'insufficient_plan',
      message:
        'Your Dropbox plan does not allow this kind of sharing (view-only members need a paid plan). Upgrade the plan or invite collaborators as editors, then press Retry.',
    };
  }
  if (has('too_many_members')) {
    return {
      code: 'too_many_members',
      message: 'The folder has as many members as Dropbox allows. Remove someone’s access, then press Retry.',
    };
  }
  if (has('email_unverified') || has('email_not_verified')) {
    return {
      code: 'email_unverified',
      message: `${EMAIL_UNVERIFIED_MESSAGE}: open the email Dropbox sent you, re-check in Settings, then press Retry.`,
    };
  }
  if (has('inside_shared_folder') || has('contains_shared_folder')) {
    return {
      code: 'nested_share',
      message:
        'Dropbox cannot share this folder because it is inside (or contains) another shared folder. Move or unshare that folder, then press Retry.',
    };
  }
  if (has('cant_share_outside_team')) {
    return {
      code: 'not_allowed',
      message:
        'Your Dropbox team does not allow sharing folders with people outside the team. Invite team members, or ask your team admin to change the policy.',
    };
  }
  if (
    has('no_permission') ||
    has('team_policy_disallows_member_policy') ||
    has('cant_share_outside_team') ||
    has('disallowed_shared_link_policy')
  ) {
    return {
      code: 'not_allowed',
      message: 'Your Dropbox account is not allowed to share this folder with these people (a team or account policy).',
    };
  }
  if (err instanceof DropboxStorageFull) return { code: 'insufficient_space', message: err.message };
  if (has('insufficient_space') || has('insufficient_quota'))
    return { code: 'insufficient_space', message: storageFullMessage() };
  return {
    code: 'dropbox_refused',
    message: `Dropbox refused: ${tags.join('/') || err.message}. Press Retry once the cause is fixed.`,
  };
}

/** A failure that will not go away by retrying, with the producer-facing explanation. */
export class CollaborationRefusal extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
    this.name = 'CollaborationRefusal';
  }
}
