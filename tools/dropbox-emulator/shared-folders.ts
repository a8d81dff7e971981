import { dropboxTimestamp, newNumericId } from './ids';

export type AccessType = 'owner' | 'editor' | 'viewer' | 'viewer_no_comment';

export interface MemberRecord {
  accountId: string;
  accessType: AccessType;
}

/** An invitation by email that nobody has accepted yet. */
export interface InviteeRecord {
  email: string;
  accessType: AccessType;
}

export interface SharedFolderRecord {
  id: string;
  ownerAccountId: string;
  /** The id of the folder entry in the owner's namespace: the share follows the folder when it moves. */
  folderId: string;
  members: MemberRecord[];
  invitees: InviteeRecord[];
  createdAt: string;
}

/**
 * Shared folders, seen from the owner's namespace: members join and invitees wait, but the folder is not mounted
 * into the members' own namespaces.
 */
export class SharedFolderStore {
  private readonly folders = new Map<string, SharedFolderRecord>();

  constructor(records: SharedFolderRecord[] = []) {
    for (const folder of records) this.folders.set(folder.id, folder);
  }

  toJSON(): SharedFolderRecord[] {
    return this.all();
  }

  all(): SharedFolderRecord[] {
    return [...this.folders.values()];
  }

  create(ownerAccountId: string, folderId: string): SharedFolderRecord {
    const folder: SharedFolderRecord = {
      id: newNumericId(),
      ownerAccountId,
      folderId,
      members: [{ accountId: ownerAccountId, accessType: 'owner' }],
      invitees: [],
      createdAt: dropboxTimestamp(),
    };
    this.folders.set(folder.id, folder);
    return folder;
  }

  get(id: string): SharedFolderRecord | undefined {
    return this.folders.get(id);
  }

  remove(id: string): void {
    this.folders.delete(id);
  }

  memberOf(folder: SharedFolderRecord, accountId: string): MemberRecord | undefined {
    return folder.members.find((member) => member.accountId === accountId);
  }

  inviteeOf(folder: SharedFolderRecord, email: string): InviteeRecord | undefined {
    return folder.invitees.find((invitee) => sameEmail(invitee.email, email));
  }

  /** Turns a pending invite into a membership. */
  accept(folder: SharedFolderRecord, invitee: InviteeRecord, accountId: string): void {
    folder.invitees = folder.invitees.filter((other) => other !== invitee);
    if (!this.memberOf(folder, accountId)) folder.members.push({ accountId, accessType: invitee.accessType });
  }
}

export function sameEmail(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
