import { dropboxTimestamp, newAccountId, newNumericId } from './ids';
import { JobRecord, JobStore } from './jobs';
import { Entry, Namespace } from './namespace';
import { SharedFolderRecord, SharedFolderStore, sameEmail } from './shared-folders';
import { TempLinkRecord, TempLinkStore } from './temp-links';
import { AccessTokenRecord, GrantRecord, TokenStore } from './tokens';
import { UploadSessionRecord, UploadSessionStore } from './upload-sessions';

export interface AccountRecord {
  account_id: string;
  email: string;
  display_name: string;
  /** Invitations to this account's email join at once instead of waiting to be accepted. */
  autoAccept: boolean;
  /** The numeric `uid` of OAuth token responses. */
  uid: string;
  namespaceId: string;
  createdAt: string;
  /** A Dropbox Business member: the team's id (root_info `team`) and its sharing policy. */
  team?: { id: string; cantShareOutsideTeam: boolean; memberPolicy?: 'team' | 'anyone' };
  /** False: the account's email is not verified, so Dropbox won't hand out links or share (control API). */
  emailVerified?: boolean;
  /** Set through the control API; absent: `DEFAULT_QUOTA_BYTES`. Used space is counted from stored files. */
  quotaBytes?: number;
}

/** Everything `--data-dir` keeps across restarts (the JSON half; file contents are blob files). */
export interface PersistedState {
  version: 1;
  accounts: AccountRecord[];
  entries: Record<string, Entry[]>;
  sharedFolders: SharedFolderRecord[];
  grants: GrantRecord[];
  accessTokens: AccessTokenRecord[];
  uploadSessions: UploadSessionRecord[];
  tempLinks: TempLinkRecord[];
  jobs: JobRecord[];
}

/** The emulated Dropbox: accounts with their namespaces, shares, tokens, sessions, links and jobs. */
export class EmulatorState {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly namespaces = new Map<string, Namespace>();
  readonly tokens: TokenStore;
  readonly sharedFolders: SharedFolderStore;
  readonly uploadSessions: UploadSessionStore;
  readonly tempLinks: TempLinkStore;
  readonly jobs: JobStore;

  constructor(accessTokenLifetimeMs: () => number, persisted?: PersistedState) {
    for (const account of persisted?.accounts ?? []) this.accounts.set(account.account_id, account);
    for (const [accountId, entries] of Object.entries(persisted?.entries ?? {})) {
      this.namespaces.set(accountId, new Namespace(entries));
    }
    this.tokens = new TokenStore(accessTokenLifetimeMs, persisted);
    this.sharedFolders = new SharedFolderStore(persisted?.sharedFolders);
    this.uploadSessions = new UploadSessionStore(persisted?.uploadSessions);
    this.tempLinks = new TempLinkStore(persisted?.tempLinks);
    this.jobs = new JobStore(persisted?.jobs);
  }

  toJSON(): PersistedState {
    return {
      version: 1,
      accounts: this.allAccounts(),
      entries: Object.fromEntries([...this.namespaces].map(([accountId, namespace]) => [accountId, namespace.all()])),
      sharedFolders: this.sharedFolders.toJSON(),
      ...this.tokens.toJSON(),
      uploadSessions: this.uploadSessions.toJSON(),
      tempLinks: this.tempLinks.toJSON(),
      jobs: this.jobs.toJSON(),
    };
  }

  /** Registers an account, or returns the one that already has this email. */
  registerAccount(input: {
    email: string;
    display_name?: string;
    autoAccept?: boolean;
    email_verified?: boolean;
    team_id?: string;
    cant_share_outside_team?: boolean;
    shared_folder_member_policy?: 'team' | 'anyone';
  }): AccountRecord {
    const existing = this.accountByEmail(input.email);
    if (existing) return existing;
    const account: AccountRecord = {
      account_id: newAccountId(),
      email: input.email,
      display_name: input.display_name ?? input.email.split('@')[0],
      autoAccept: input.autoAccept ?? false,
      ...(input.email_verified === false && { emailVerified: false }),
      ...(input.team_id && {
        team: {
          id: input.team_id,
          cantShareOutsideTeam: input.cant_share_outside_team ?? false,
          ...(input.shared_folder_member_policy && { memberPolicy: input.shared_folder_member_policy }),
        },
      }),
      uid: newNumericId(),
      namespaceId: newNumericId(),
      createdAt: dropboxTimestamp(),
    };
    this.accounts.set(account.account_id, account);
    this.namespaces.set(account.account_id, new Namespace());
    return account;
  }

  account(accountId: string): AccountRecord | undefined {
    return this.accounts.get(accountId);
  }

  accountByEmail(email: string): AccountRecord | undefined {
    return this.allAccounts().find((account) => sameEmail(account.email, email));
  }

  allAccounts(): AccountRecord[] {
    return [...this.accounts.values()];
  }

  namespace(accountId: string): Namespace {
    let namespace = this.namespaces.get(accountId);
    if (!namespace) this.namespaces.set(accountId, (namespace = new Namespace()));
    return namespace;
  }

  allNamespaces(): Namespace[] {
    return [...this.namespaces.values()];
  }
}
