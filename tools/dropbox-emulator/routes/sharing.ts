import type { sharing } from 'dropbox';
import { Args } from '../args';
import { OperationFailure, Union, badRequest, routeError, u } from '../errors';
import { sharedFolderMetadata } from '../metadata';
import { isWithin, parsePath } from '../paths';
import { AccessType, MemberRecord, SharedFolderRecord, sameEmail } from '../shared-folders';
import { ApiCall, ApiRoute, decodeCursor, encodeCursor, json } from './route';

const SHARING_READ = 'sharing.read';
const SHARING_WRITE = 'sharing.write';

/**
 * `common.EmailAddress` of Dropbox's Stone spec (at most 255 characters). An address failing it fails the whole
 * call with a 400 in plain text, before anything else is looked at.
 */
const EMAIL_ADDRESS_PATTERN = `^['#&A-Za-z0-9._%+-]+@[A-Za-z0-9-][A-Za-z0-9.-]*\\.[A-Za-z]{2,15}$`;
const EMAIL_ADDRESS = new RegExp(EMAIL_ADDRESS_PATTERN);
const EMAIL_ADDRESS_MAX = 255;

/** Shaped like an address but not one Dropbox can deliver to: `bad_member/invalid_email` (409). */
function undeliverable(email: string): boolean {
  const [local, domain] = email.split('@');
  return (
    local.startsWith('.') ||
    local.endsWith('.') ||
    email.includes('..') ||
    domain.split('.').some((label) => label === '' || label.startsWith('-') || label.endsWith('-'))
  );
}
const INVITABLE_ACCESS: readonly AccessType[] = ['editor', 'viewer', 'viewer_no_comment'];

interface MembersCursor {
  folder: string;
  account: string;
  offset: number;
  limit: number;
}

export const sharingRoutes: Record<string, ApiRoute> = {
  'sharing/share_folder': {
    style: 'rpc',
    scope: SHARING_WRITE,
    write: true,
    handle(call) {
      const { args, emulator, account } = call;
      if (account.emailVerified === false) throw routeError(u('email_unverified'));
      // A team that keeps folders among teammates refuses a folder asked to be open to anyone.
      const asked = args.has('member_policy') ? args.union('member_policy')['.tag'] : undefined;
      if (account.team?.memberPolicy === 'team' && asked === 'anyone')
        throw routeError(u('team_policy_disallows_member_policy'));
      const result: sharing.ShareFolderLaunch = { '.tag': 'complete', ...shareFolder(call) };
      if (!args.boolean('force_async', false) && !emulator.settings.shareFolderAsync) return json(result);
      return json(emulator.state.jobs.launch(account.account_id, 'share_folder', emulator.settings.asyncPolls, result));
    },
  },

  'sharing/check_share_job_status': {
    style: 'rpc',
    scope: SHARING_WRITE,
    handle: ({ args, account, emulator }) =>
      json(emulator.state.jobs.poll(account.account_id, 'share_folder', args.string('async_job_id'))),
  },

  'sharing/add_folder_member': {
    style: 'rpc',
    scope: SHARING_WRITE,
    write: true,
    handle(call) {
      const folder = accessibleFolder(call, call.args.string('shared_folder_id'));
      requireManager(call, folder);
      if (call.account.emailVerified === false) throw routeError(u('email_unverified'));
      // Every member is checked before anyone is added: one bad recipient fails the whole call.
      const members = call.args.list('members');
      members.forEach((member, index) => checkEmailShape(call, member, index));
      const limit = call.emulator.settings.maxInviteesPerCall;
      if (limit > 0 && members.length > limit) throw routeError(u('too_many_invitees'));
      const invitations = members.map((member) => invitationOf(call, member));
      // A team that keeps its folders inside refuses the whole call if anyone is outside it.
      const team = call.account.team;
      if (
        (team?.cantShareOutsideTeam || team?.memberPolicy === 'team') &&
        invitations.some((i) => call.emulator.state.accountByEmail(i.email)?.team?.id !== team.id)
      ) {
        throw routeError(u('cant_share_outside_team'));
      }
      for (const invitation of invitations) invite(call, folder, invitation.email, invitation.accessType);
      return json(null);
    },
  },

  /** The shared folder as the caller sees it now: its owner gets its current path, wherever it was moved. */
  'sharing/get_folder_metadata': {
    style: 'rpc',
    scope: SHARING_READ,
    handle(call) {
      const folder = accessibleFolder(call, call.args.string('shared_folder_id'));
      return json(sharedFolderMetadata(call.emulator.state, folder, call.account.account_id, call.emulator.publicUrl));
    },
  },

  'sharing/list_folder_members': {
    style: 'rpc',
    scope: SHARING_READ,
    handle(call) {
      const folder = accessibleFolder(call, call.args.string('shared_folder_id'));
      const limit = call.args.integer('limit', 1000);
      if (limit < 1 || limit > 1000) throw call.args.fail(`limit: ${limit} is not within [1, 1000]`);
      return json(membersPage(call, folder, { folder: folder.id, account: call.account.account_id, offset: 0, limit }));
    },
  },

  'sharing/list_folder_members/continue': {
    style: 'rpc',
    scope: SHARING_READ,
    handle(call) {
      const cursor = decodeCursor<MembersCursor>(call.args.string('cursor'));
      if (!cursor || cursor.account !== call.account.account_id) throw routeError(u('invalid_cursor'));
      return json(membersPage(call, accessibleFolder(call, cursor.folder), cursor));
    },
  },

  'sharing/remove_folder_member': {
    style: 'rpc',
    scope: SHARING_WRITE,
    write: true,
    handle(call) {
      const { args, emulator, account } = call;
      const folder = accessibleFolder(call, args.string('shared_folder_id'));
      requireManager(call, folder);
      args.boolean('leave_a_copy', false);
      const selector = args.union('member');
      const value = String(selector[selector['.tag']] ?? '');
      const email = selector['.tag'] === 'email' ? value : emulator.state.account(value)?.email;
      const member = folder.members.find(
        (candidate) =>
          candidate.accountId === value ||
          (email !== undefined && sameEmail(emulator.state.account(candidate.accountId)?.email ?? '', email)),
      );
      const invitee = email === undefined ? undefined : emulator.state.sharedFolders.inviteeOf(folder, email);
      if (member?.accessType === 'owner') throw routeError(u('folder_owner'));
      if (!member && !invitee) throw routeError(u('member_error', u('not_a_member')));
      folder.members = folder.members.filter((candidate) => candidate !== member);
      folder.invitees = folder.invitees.filter((candidate) => candidate !== invitee);
      const done: sharing.RemoveMemberJobStatusComplete = { '.tag': 'complete' };
      return json(emulator.state.jobs.launch(account.account_id, 'remove_member', emulator.settings.asyncPolls, done));
    },
  },

  'sharing/check_remove_member_job_status': {
    style: 'rpc',
    scope: SHARING_WRITE,
    handle: ({ args, account, emulator }) =>
      json(emulator.state.jobs.poll(account.account_id, 'remove_member', args.string('async_job_id'))),
  },

  'sharing/unshare_folder': {
    style: 'rpc',
    scope: SHARING_WRITE,
    write: true,
    handle(call) {
      const { args, emulator, account } = call;
      const folder = accessibleFolder(call, args.string('shared_folder_id'));
      if (folder.ownerAccountId !== account.account_id) throw routeError(u('no_permission'));
      args.boolean('leave_a_copy', false);
      const owner = emulator.state.namespace(folder.ownerAccountId);
      const entry = owner.find({ kind: 'id', id: folder.folderId });
      if (entry?.tag === 'folder') owner.setSharedFolder(entry, undefined);
      emulator.state.sharedFolders.remove(folder.id);
      const done: sharing.JobStatusComplete = { '.tag': 'complete' };
      return json(emulator.state.jobs.launch(account.account_id, 'unshare_folder', emulator.settings.asyncPolls, done));
    },
  },

  'sharing/check_job_status': {
    style: 'rpc',
    scope: SHARING_WRITE,
    handle: ({ args, account, emulator }) =>
      json(emulator.state.jobs.poll(account.account_id, 'unshare_folder', args.string('async_job_id'))),
  },
};

/** Shares the folder at `path` (creating it if missing); errors are ShareFolderError's `bad_path`. */
function shareFolder(call: ApiCall): sharing.SharedFolderMetadata {
  const { route, args, namespace, emulator, account } = call;
  const badPath = (reason: Union) => routeError(u('bad_path', reason));
  let ref;
  try {
    ref = parsePath(route, 'path', args.string('path'), { allowId: true, failure: 'write' });
  } catch (error) {
    if (error instanceof OperationFailure) throw badPath(u('invalid_path'));
    throw error;
  }
  let entry = namespace.find(ref);
  if (!entry) {
    if (ref.kind !== 'path') throw badPath(u('invalid_path'));
    try {
      entry = namespace.createFolder(ref.display, false);
    } catch (error) {
      if (error instanceof OperationFailure) throw badPath(u('invalid_path'));
      throw error;
    }
  }
  if (entry.tag === 'file') throw badPath(u('is_file'));
  const shares = emulator.state.sharedFolders;
  if (entry.sharedFolderId) {
    const existing = shares.get(entry.sharedFolderId)!;
    throw badPath({
      '.tag': 'already_shared',
      ...sharedFolderMetadata(emulator.state, existing, account.account_id, emulator.publicUrl),
    });
  }
  if (namespace.sharedFolderAt(entry.pathLower)) throw badPath(u('inside_shared_folder'));
  const folderPath = entry.pathLower;
  const nested = namespace
    .all()
    .some((other) => other.tag === 'folder' && other.sharedFolderId && isWithin(other.pathLower, folderPath));
  if (nested) throw badPath(u('contains_shared_folder'));
  const folder = shares.create(account.account_id, entry.id);
  namespace.setSharedFolder(entry, folder.id);
  return sharedFolderMetadata(emulator.state, folder, account.account_id, emulator.publicUrl);
}

/** The shared folder, if the caller is one of its members; else `access_error`. */
function accessibleFolder(call: ApiCall, id: string): SharedFolderRecord {
  const folder = call.emulator.state.sharedFolders.get(id);
  if (!folder) throw routeError(u('access_error', u('invalid_id')));
  if (!call.emulator.state.sharedFolders.memberOf(folder, call.account.account_id)) {
    throw routeError(u('access_error', u('not_a_member')));
  }
  return folder;
}

/** Owners and editors may change membership (the folder's ACL policy is `editors`). */
function requireManager(call: ApiCall, folder: SharedFolderRecord): void {
  const access = call.emulator.state.sharedFolders.memberOf(folder, call.account.account_id)?.accessType;
  if (access !== 'owner' && access !== 'editor') throw routeError(u('no_permission'));
}

/** The argument check Dropbox runs first: an email selector must match `common.EmailAddress`, else 400. */
function checkEmailShape(call: ApiCall, member: Args, index: number): void {
  const selector = member.union('member');
  if (selector['.tag'] !== 'email') return;
  const email = String(selector.email ?? '');
  if (email.length > EMAIL_ADDRESS_MAX) {
    throw badRequest(
      call.route,
      `request body: members: [${index}].member.email: '${email}' must be at most ${EMAIL_ADDRESS_MAX} characters`,
    );
  }
  if (!EMAIL_ADDRESS.test(email)) {
    throw badRequest(
      call.route,
      `request body: members: [${index}].member.email: '${email}' did not match pattern '${EMAIL_ADDRESS_PATTERN}'`,
    );
  }
}

function invitationOf(call: ApiCall, member: Args): { email: string; accessType: AccessType } {
  const selector = member.union('member');
  const accessType = member.tagOf('access_level', [...INVITABLE_ACCESS, 'owner'], 'viewer') as AccessType;
  if (accessType === 'owner') throw routeError(u('no_permission'));
  const value = String(selector[selector['.tag']] ?? '');
  const badMember = (reason: Union) => routeError(u('bad_member', reason));
  if (selector['.tag'] === 'email') {
    if (undeliverable(value)) throw badMember(u('invalid_email', value));
    return { email: value, accessType };
  }
  if (selector['.tag'] === 'dropbox_id') {
    const account = call.emulator.state.account(value);
    if (!account) throw badMember(u('invalid_dropbox_id', value));
    return { email: account.email, accessType };
  }
  throw member.fail(`member: unknown tag '${selector['.tag']}'`);
}

/**
 * Adds one recipient. Someone already a member or already invited is left as they are (not an error, as on
 * Dropbox); an account that auto-accepts joins at once, anyone else stays an invitee until accepted.
 */
function invite(call: ApiCall, folder: SharedFolderRecord, email: string, accessType: AccessType): void {
  const { state } = call.emulator;
  const account = state.accountByEmail(email);
  if (account && state.sharedFolders.memberOf(folder, account.account_id)) return;
  if (state.sharedFolders.inviteeOf(folder, email)) return;
  if (account?.autoAccept) folder.members.push({ accountId: account.account_id, accessType });
  else folder.invitees.push({ email, accessType });
}

function membersPage(call: ApiCall, folder: SharedFolderRecord, cursor: MembersCursor): sharing.SharedFolderMembers {
  const { state } = call.emulator;
  const everyone: Array<MemberRecord | { email: string; accessType: AccessType }> = [
    ...folder.members,
    ...folder.invitees,
  ];
  const page = everyone.slice(cursor.offset, cursor.offset + cursor.limit);
  const users: sharing.UserMembershipInfo[] = [];
  const invitees: sharing.InviteeMembershipInfo[] = [];
  for (const item of page) {
    if ('accountId' in item) {
      const user = userInfo(call, item.accountId);
      if (user) users.push({ access_type: { '.tag': item.accessType }, user, permissions: [], is_inherited: false });
    } else {
      const account = state.accountByEmail(item.email);
      const user = account && userInfo(call, account.account_id);
      invitees.push({
        access_type: { '.tag': item.accessType },
        invitee: { '.tag': 'email', email: item.email },
        ...(user && { user }),
        permissions: [],
        is_inherited: false,
      });
    }
  }
  const next = cursor.offset + page.length;
  return {
    users,
    groups: [],
    invitees,
    ...(next < everyone.length && { cursor: encodeCursor({ ...cursor, offset: next }) }),
  };
}

function userInfo(call: ApiCall, accountId: string): sharing.UserInfo | undefined {
  const account = call.emulator.state.account(accountId);
  if (!account) return undefined;
  return { account_id: account.account_id, email: account.email, display_name: account.display_name, same_team: false };
}
