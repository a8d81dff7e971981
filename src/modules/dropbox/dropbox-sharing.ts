import type { async, files, sharing } from 'dropbox';
import { DropboxPermanent, DropboxTransient, tagChain } from './dropbox.errors';
import type { DropboxAccountCalls } from './dropbox-calls';
import { alreadySharedIn } from './dropbox-error-fields';
import { toCopyResult, toSharedFolder } from './dropbox-entries';
import type {
  CopyBatchLaunch,
  CopyEntry,
  CopyEntryResult,
  FolderAccessLevel,
  FolderMembers,
  FolderMemberSelector,
  SharedFolderInfo,
} from './dropbox.types';

const COPY_BATCH_MAX = 1000;

/**
 * Sharing, for the collaboration pipeline: shared folders, batch copies, members. Writes (share, copy, add, remove)
 * take the account's write slot in the folder's namespace; polls and listings are reads.
 */
export class DropboxSharing {
  constructor(private readonly calls: DropboxAccountCalls) {}

  /**
   * Creates the folder at `path` if it is missing and shares it, in one call. A folder that is already shared
   * answers with its id (`bad_path/already_shared`), so repeating the call after a crash finds the same folder.
   *
   * Collaborators are mostly outside the producer's team, so the folder is asked to be open to anyone (the setting
   * only counts for team members). A team whose policy keeps shared folders among teammates refuses that with
   * `team_policy_disallows_member_policy`: the folder is then shared with the team's own policy, teammates are
   * invited and each outsider is refused in words (`cant_share_outside_team`).
   */
  async shareFolder(path: string): Promise<SharedFolderInfo> {
    try {
      return await this.shareFolderAs(path);
    } catch (err) {
      // Dropbox forgot the job before we saw its end (job ids expire): asking again answers with the same folder.
      if (err instanceof DropboxPermanent && err.tags.includes('invalid_async_job_id')) return this.shareFolderAs(path);
      throw err;
    }
  }

  private async shareFolderAs(path: string): Promise<SharedFolderInfo> {
    try {
      return await this.shareFolderOnce(path, 'anyone');
    } catch (err) {
      if (err instanceof DropboxPermanent && err.tags.includes('team_policy_disallows_member_policy'))
        return this.shareFolderOnce(path);
      throw err;
    }
  }

  private async shareFolderOnce(path: string, memberPolicy?: 'anyone'): Promise<SharedFolderInfo> {
    let launch: sharing.ShareFolderLaunch;
    try {
      launch = await this.calls.call('sharing/share_folder', 'write', (dbx) =>
        dbx.sharingShareFolder({
          path,
          force_async: false,
          ...(memberPolicy && { member_policy: { '.tag': memberPolicy } }),
        }),
      );
    } catch (err) {
      if (err instanceof DropboxPermanent && err.alreadyShared) return err.alreadyShared;
      throw err;
    }
    if (launch['.tag'] === 'complete') return toSharedFolder(launch);
    const jobId = (launch as { async_job_id: string }).async_job_id;
    const status = await this.calls.pollAsync('sharing/check_share_job_status', (dbx) =>
      dbx.sharingCheckShareJobStatus({ async_job_id: jobId }),
    );
    if (status['.tag'] === 'complete') return toSharedFolder(status as sharing.SharedFolderMetadata);
    const failure = (status as { failed?: unknown }).failed;
    const tags = tagChain(failure);
    const existing = alreadySharedIn(tags, failure);
    if (existing) return existing;
    throw new DropboxPermanent(
      `Dropbox could not share ${path}: ${tags.join('/') || status['.tag']}`,
      tags,
      'sharing/check_share_job_status',
    );
  }

  /**
   * A shared folder as Dropbox knows it now, found by its id: wherever the producer moved or renamed it. No
   * `pathDisplay` when it is not mounted in the caller's tree (unmounted, or in a team space outside it).
   */
  async sharedFolder(sharedFolderId: string): Promise<SharedFolderInfo> {
    const meta = await this.calls.call('sharing/get_folder_metadata', 'read', (dbx) =>
      dbx.sharingGetFolderMetadata({ shared_folder_id: sharedFolderId }),
    );
    return toSharedFolder(meta);
  }

  /**
   * Starts a batch copy (at most 1,000 entries; `from_path` may be `id:…`). Nothing is renamed: an entry whose
   * target exists comes back as a `…/to/conflict/…` failure for the caller to judge.
   */
  async startCopyBatch(entries: CopyEntry[], options: { intoSharedFolder?: string } = {}): Promise<CopyBatchLaunch> {
    if (entries.length === 0 || entries.length > COPY_BATCH_MAX) {
      throw new RangeError(`a batch copy takes 1 to ${COPY_BATCH_MAX} entries, not ${entries.length}`);
    }
    const launch = await this.calls.call(
      'files/copy_batch_v2',
      'write',
      (dbx) =>
        dbx.filesCopyBatchV2({
          entries: entries.map((e) => ({ from_path: e.fromPath, to_path: e.toPath })),
          autorename: false,
        }),
      options.intoSharedFolder,
    );
    if (launch['.tag'] === 'complete') return { done: true, results: launch.entries.map(toCopyResult) };
    return { done: false, asyncJobId: (launch as { async_job_id: string }).async_job_id };
  }

  /** Polls a batch copy until it is done (`invalid_async_job_id` when Dropbox no longer knows the job). */
  async waitForCopyBatch(asyncJobId: string): Promise<CopyEntryResult[]> {
    const status = await this.calls.pollAsync('files/copy_batch/check_v2', (dbx) =>
      dbx.filesCopyBatchCheckV2({ async_job_id: asyncJobId }),
    );
    if (status['.tag'] === 'complete') return (status as files.RelocationBatchV2Result).entries.map(toCopyResult);
    throw new DropboxTransient(
      `the batch copy ended as ${status['.tag']}`,
      [status['.tag']],
      'files/copy_batch/check_v2',
    );
  }

  /**
   * Invites people to a shared folder, all in one call. Dropbox fails the whole call for one bad recipient; the
   * refused address of a `bad_member/…` error is on its `refusedMember`.
   */
  async addFolderMembers(sharedFolderId: string, emails: string[], accessLevel: FolderAccessLevel): Promise<void> {
    if (emails.length === 0) return;
    await this.calls.call(
      'sharing/add_folder_member',
      'write',
      (dbx) =>
        dbx.sharingAddFolderMember({
          shared_folder_id: sharedFolderId,
          members: emails.map((email) => ({
            member: { '.tag': 'email', email },
            access_level: { '.tag': accessLevel },
          })),
          quiet: false,
        }),
      sharedFolderId,
    );
  }

  /** Everyone in a shared folder, following cursors: joined users and pending invitees. */
  async listFolderMembers(sharedFolderId: string): Promise<FolderMembers> {
    const members: FolderMembers = { joined: [], invited: [] };
    let page = await this.calls.call('sharing/list_folder_members', 'read', (dbx) =>
      dbx.sharingListFolderMembers({ shared_folder_id: sharedFolderId, limit: 1000 }),
    );
    for (;;) {
      for (const u of page.users) {
        members.joined.push({
          accountId: u.user.account_id,
          email: u.user.email.toLowerCase(),
          displayName: u.user.display_name,
          accessLevel: u.access_type['.tag'],
        });
      }
      for (const i of page.invitees) {
        const email = i.invitee['.tag'] === 'email' ? (i.invitee as sharing.InviteeInfoEmail).email : undefined;
        if (email) members.invited.push({ email: email.toLowerCase(), accessLevel: i.access_type['.tag'] });
      }
      const cursor = page.cursor;
      if (!cursor) return members;
      page = await this.calls.call('sharing/list_folder_members/continue', 'read', (dbx) =>
        dbx.sharingListFolderMembersContinue({ cursor }),
      );
    }
  }

  /** Takes someone out of a shared folder (invitee or member). Someone already gone counts as removed. */
  async removeFolderMember(sharedFolderId: string, member: FolderMemberSelector): Promise<'removed' | 'not_a_member'> {
    const selector: sharing.MemberSelector =
      'email' in member
        ? { '.tag': 'email', email: member.email }
        : { '.tag': 'dropbox_id', dropbox_id: member.accountId };
    let launch: async.LaunchResultBase;
    try {
      launch = await this.calls.call(
        'sharing/remove_folder_member',
        'write',
        (dbx) =>
          dbx.sharingRemoveFolderMember({ shared_folder_id: sharedFolderId, member: selector, leave_a_copy: false }),
        sharedFolderId,
      );
    } catch (err) {
      if (err instanceof DropboxPermanent && err.tags.includes('not_a_member')) return 'not_a_member';
      throw err;
    }
    const jobId = (launch as { async_job_id?: string }).async_job_id;
    if (!jobId) return 'removed';
    const status = await this.calls.pollAsync('sharing/check_remove_member_job_status', (dbx) =>
      dbx.sharingCheckRemoveMemberJobStatus({ async_job_id: jobId }),
    );
    if (status['.tag'] === 'complete') return 'removed';
    const tags = tagChain((status as { failed?: unknown }).failed);
    if (tags.includes('not_a_member')) return 'not_a_member';
    throw new DropboxPermanent(
      `Dropbox could not remove the member: ${tags.join('/') || status['.tag']}`,
      tags,
      'sharing/check_remove_member_job_status',
    );
  }
}
