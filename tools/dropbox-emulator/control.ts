import { EmulatorSettings } from './config';
import { CallRecord, CountersSnapshot } from './counters';
import { Emulator } from './emulator';
import { CopyEntryFailure, Fault, FaultSpec } from './faults';
import { NamespaceLock, homeNamespace, sharedNamespace } from './namespace-locks';
import { quotaOf, usedBytes } from './quota';
import { AccountRecord } from './state';
import { ALL_SCOPES } from './tokens';

export interface EmulatorAccount {
  account_id: string;
  email: string;
  display_name: string;
  autoAccept: boolean;
  email_verified: boolean;
  team_id: string | null;
}

export interface RegisterAccountInput {
  email: string;
  display_name?: string;
  /** Invitations to this email join at once instead of staying pending. Default false. */
  autoAccept?: boolean;
  /** False: an account whose email is not verified (no temporary links, no sharing). Default true. */
  email_verified?: boolean;
  /** A Dropbox Business member of this team (root_info `team`, account_type `business`). */
  team_id?: string;
  /** The team's policy: members may not share folders with people outside the team. */
  cant_share_outside_team?: boolean;
  /**
   * The team's shared-folder member policy (team_policies.SharedFolderMemberPolicy). `team`: a folder shared with
   * `member_policy: anyone` is refused with `team_policy_disallows_member_policy`, and its folders take teammates only.
   */
  shared_folder_member_policy?: 'team' | 'anyone';
}

export interface IssueTokenInput {
  /** The account, by id or by email (one of them). */
  account_id?: string;
  email?: string;
  /** Default: every scope. */
  scope?: string[];
  /** Default: the emulator's `accessTokenLifetimeMs`. */
  lifetimeMs?: number;
}

export interface IssuedToken {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  account_id: string;
  scope: string;
}

export interface SpaceInput {
  /** The account, by id or by email (one of them). */
  account_id?: string;
  email?: string;
}

export interface SetQuotaInput extends SpaceInput {
  /** The allocation in bytes; null goes back to the default. */
  quota_bytes: number | null;
}

/** What `users/get_space_usage` would answer: bytes stored, bytes allocated. */
export interface SpaceReport {
  account_id: string;
  used: number;
  allocated: number;
}

export interface AcceptedInvite {
  shared_folder_id: string;
  email: string;
  account_id: string;
}

/** A control request that can't be honoured; the HTTP control API answers it with `status`. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Test controls, in process. The HTTP control API under `/_emulator/` maps onto these methods one to one.
 */
export class EmulatorControl {
  constructor(private readonly emulator: Emulator) {}

  registerAccount(input: RegisterAccountInput): EmulatorAccount {
    if (typeof input.email !== 'string' || !input.email.includes('@')) throw new ControlError(400, 'email is required');
    const account = this.emulator.state.registerAccount(input);
    this.emulator.changed();
    return publicAccount(account);
  }

  accounts(): EmulatorAccount[] {
    return this.emulator.state.allAccounts().map(publicAccount);
  }

  /** Tokens for an account without the OAuth pages (a grant with a refresh token, like a code exchange). */
  issueToken(input: IssueTokenInput): IssuedToken {
    const { state } = this.emulator;
    const account = input.account_id
      ? state.account(input.account_id)
      : input.email && state.accountByEmail(input.email);
    if (!account) throw new ControlError(404, 'no such account');
    const issued = state.tokens.issue(account.account_id, input.scope ?? ALL_SCOPES, undefined, input.lifetimeMs);
    this.emulator.changed();
    return issued;
  }

  /** Sets an account's allocation; uploads and copies past it are refused (`insufficient_space`/`_quota`). */
  setQuota(input: SetQuotaInput): SpaceReport {
    const account = this.findAccount(input);
    const quota = input.quota_bytes;
    if (quota !== null && (typeof quota !== 'number' || !Number.isSafeInteger(quota) || quota < 0)) {
      throw new ControlError(400, 'quota_bytes must be a whole number of bytes ≥ 0, or null');
    }
    if (quota === null) delete account.quotaBytes;
    else account.quotaBytes = quota;
    this.emulator.changed();
    return this.space(input);
  }

  space(input: SpaceInput): SpaceReport {
    const account = this.findAccount(input);
    const namespace = this.emulator.state.namespace(account.account_id);
    return { account_id: account.account_id, used: usedBytes(namespace), allocated: quotaOf(account) };
  }

  private findAccount(input: SpaceInput): AccountRecord {
    const { state } = this.emulator;
    const account = input.account_id
      ? state.account(input.account_id)
      : input.email && state.accountByEmail(input.email);
    if (!account) throw new ControlError(404, 'no such account');
    return account;
  }

  /**
   * An outside writer (a collaborator's desktop client, another app) holds a namespace's write lock: an account's
   * home (`account_id`/`email`) or a shared folder (`shared_folder_id`). Every write into it answers 429
   * `too_many_write_operations` with `retry_after_seconds` (default 1) until the lock is released.
   */
  holdNamespaceLock(input: SpaceInput & { shared_folder_id?: string; retry_after_seconds?: number }): NamespaceLock {
    const retryAfter = input.retry_after_seconds ?? 1;
    if (!Number.isInteger(retryAfter) || retryAfter < 0)
      throw new ControlError(400, 'retry_after_seconds must be a whole number ≥ 0');
    if (input.shared_folder_id !== undefined) {
      if (!this.emulator.state.sharedFolders.all().some((folder) => folder.id === input.shared_folder_id)) {
        throw new ControlError(404, 'no such shared folder');
      }
      return this.emulator.namespaceLocks.hold(sharedNamespace(input.shared_folder_id), retryAfter);
    }
    return this.emulator.namespaceLocks.hold(homeNamespace(this.findAccount(input).account_id), retryAfter);
  }

  namespaceLocks(): NamespaceLock[] {
    return this.emulator.namespaceLocks.list();
  }

  releaseNamespaceLock(id: string): boolean {
    return this.emulator.namespaceLocks.release(id);
  }

  /**
   * Makes Dropbox refuse to serve a file it still lists: `unsupported_file` (listed with `is_downloadable: false`,
   * like a cloud document), `restricted_content` or `not_allowed` (a banned link); null serves it again.
   */
  setFileServing(
    input: SpaceInput & { path: string; block: 'unsupported_file' | 'restricted_content' | 'not_allowed' | null },
  ): { path: string; block: string | null } {
    const account = this.findAccount(input);
    const blocks = ['unsupported_file', 'restricted_content', 'not_allowed'];
    if (input.block !== null && !blocks.includes(input.block))
      throw new ControlError(400, `block must be one of ${blocks.join(', ')} or null`);
    if (typeof input.path !== 'string') throw new ControlError(400, 'path is required');
    const namespace = this.emulator.state.namespace(account.account_id);
    const entry = input.path.startsWith('id:')
      ? namespace.find({ kind: 'id', id: input.path })
      : namespace.byPathLower(input.path.toLowerCase());
    if (!entry || entry.tag !== 'file') throw new ControlError(404, 'no such file');
    if (input.block === null) delete entry.servingBlock;
    else entry.servingBlock = input.block;
    this.emulator.changed();
    return { path: entry.pathDisplay, block: input.block };
  }

  /** Marks an account's email verified or not, as the owner clicking (or not yet) Dropbox's verification mail. */
  setEmailVerified(input: SpaceInput & { email_verified: boolean }): EmulatorAccount {
    if (typeof input.email_verified !== 'boolean') throw new ControlError(400, 'email_verified must be true or false');
    const account = this.findAccount(input);
    if (input.email_verified) delete account.emailVerified;
    else account.emailVerified = false;
    this.emulator.changed();
    return publicAccount(account);
  }

  /**
   * Moves a folder outside the account's mounted tree (into a team space, as it were): reachable by id only, its
   * metadata and that of everything in it without `path_lower`/`path_display`. `mounted: true` brings it back.
   */
  setFolderMounted(input: SpaceInput & { path: string; mounted: boolean }): { path: string; mounted: boolean } {
    const account = this.findAccount(input);
    if (typeof input.path !== 'string' || typeof input.mounted !== 'boolean')
      throw new ControlError(400, 'path and mounted are required');
    const entry = this.emulator.state.namespace(account.account_id).byPathLower(input.path.toLowerCase());
    if (!entry || entry.tag !== 'folder') throw new ControlError(404, 'no such folder');
    if (input.mounted) delete entry.outsideTree;
    else entry.outsideTree = true;
    this.emulator.changed();
    return { path: entry.pathDisplay, mounted: input.mounted };
  }

  /** Expires access tokens (refresh tokens stay valid): one, all of an account, or all. */
  expireTokens(filter: { access_token?: string; account_id?: string } = {}): { expired: number } {
    const expired = this.emulator.state.tokens.expire({
      accessToken: filter.access_token,
      accountId: filter.account_id,
    });
    this.emulator.changed();
    return { expired };
  }

  /** Revokes grants (refresh token and its access tokens): by either token, by account, or all. */
  revokeTokens(filter: { refresh_token?: string; access_token?: string; account_id?: string } = {}): {
    revoked: number;
  } {
    const revoked = this.emulator.state.tokens.revoke({
      refreshToken: filter.refresh_token,
      accessToken: filter.access_token,
      accountId: filter.account_id,
    });
    this.emulator.changed();
    return { revoked };
  }

  addFault(spec: FaultSpec): Fault {
    if (typeof spec.route !== 'string' || spec.route === '') {
      throw new ControlError(400, 'route is required ("*" for all)');
    }
    return this.emulator.faults.add(spec);
  }

  /**
   * The next `count` entries of `copy_batch_v2` (of `account_id`, or of anyone) fail with `failure`
   * (`too_many_write_operations`, `internal_error`, or `too_many_files` inside a relocation_error); the other
   * entries of their batches are copied.
   */
  failCopyEntries(input: { failure: CopyEntryFailure; count?: number; account_id?: string }): { ok: true } {
    const failures: CopyEntryFailure[] = ['too_many_write_operations', 'internal_error', 'too_many_files'];
    if (!failures.includes(input.failure)) throw new ControlError(400, `failure must be one of ${failures.join(', ')}`);
    const count = input.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new ControlError(400, 'count must be a whole number ≥ 1');
    this.emulator.copyEntryFaults.add(input.failure, count, input.account_id);
    return { ok: true };
  }

  /** Dropbox forgets async job ids: every one issued so far (of an account, or all) answers `invalid_async_job_id`. */
  expireJobs(filter: { account_id?: string } = {}): { expired: number } {
    const expired = this.emulator.state.jobs.expire(filter.account_id);
    this.emulator.changed();
    return { expired };
  }

  faults(): Fault[] {
    return this.emulator.faults.list();
  }

  removeFault(id: string): boolean {
    return this.emulator.faults.remove(id);
  }

  /** Resolves once a `hold` fault holds a call: the moment a test may act while that call is in flight. */
  heldCall(id: string): Promise<void> {
    return this.emulator.faults.arrived(id);
  }

  /** The calls a `hold` fault keeps waiting go on (as the fault says); the fault is removed, as by removeFault. */
  releaseFault(id: string): boolean {
    return this.emulator.faults.release(id);
  }

  clearFaults(): void {
    this.emulator.faults.clear();
    this.emulator.copyEntryFaults.clear();
  }

  settings(): EmulatorSettings {
    return { ...this.emulator.settings };
  }

  updateSettings(changes: Partial<EmulatorSettings>): EmulatorSettings {
    const settings = this.emulator.settings;
    for (const [key, value] of Object.entries(changes)) {
      if (!(key in settings)) throw new ControlError(400, `unknown setting ${key}`);
      const expected = typeof settings[key as keyof EmulatorSettings];
      const valid = expected === 'boolean' ? typeof value === 'boolean' : typeof value === 'number' && value >= 0;
      if (!valid) throw new ControlError(400, `${key} must be a ${expected === 'boolean' ? 'boolean' : 'number ≥ 0'}`);
    }
    Object.assign(settings, changes);
    return this.settings();
  }

  /**
   * Accepts pending invitations, as the invitees would: by folder and/or email, or all of them. An invitee
   * without an account gets one. With `as_email`, the invitation is accepted from that (other) account, as when
   * someone clicks it while signed in to Dropbox under another address.
   */
  acceptInvites(
    filter: { shared_folder_id?: string; email?: string; as_email?: string; as_display_name?: string } = {},
  ): AcceptedInvite[] {
    const { state } = this.emulator;
    if (filter.as_email !== undefined && (typeof filter.as_email !== 'string' || !filter.as_email.includes('@'))) {
      throw new ControlError(400, 'as_email must be an email address');
    }
    const accepted: AcceptedInvite[] = [];
    for (const folder of state.sharedFolders.all()) {
      if (filter.shared_folder_id && folder.id !== filter.shared_folder_id) continue;
      for (const invitee of [...folder.invitees]) {
        if (filter.email && invitee.email.toLowerCase() !== filter.email.toLowerCase()) continue;
        // Signed in with another account when they clicked the invitation: the invitee goes, that account joins.
        const account = state.registerAccount({
          email: filter.as_email ?? invitee.email,
          display_name: filter.as_display_name,
        });
        state.sharedFolders.accept(folder, invitee, account.account_id);
        accepted.push({ shared_folder_id: folder.id, email: account.email, account_id: account.account_id });
      }
    }
    this.emulator.changed();
    return accepted;
  }

  /** list_folder/continue answers `reset` for every cursor issued so far (of one account, or of all). */
  invalidateCursors(filter: { account_id?: string } = {}): void {
    const { state } = this.emulator;
    const namespaces = filter.account_id ? [state.namespace(filter.account_id)] : state.allNamespaces();
    for (const namespace of namespaces) namespace.cursorGeneration++;
  }

  counters(): CountersSnapshot {
    return this.emulator.counters.snapshot();
  }

  /** Every API call since start or the last counters reset: route, account, status, timing, Retry-After. */
  callLog(): CallRecord[] {
    return this.emulator.counters.callLog();
  }

  resetCounters(): void {
    this.emulator.counters.reset();
  }

  /** Back to an empty Dropbox: no accounts, files, shares or tokens; faults and counters cleared. */
  reset(): void {
    this.emulator.resetState();
    this.emulator.faults.clear();
    this.emulator.copyEntryFaults.clear();
    this.emulator.namespaceLocks.clear();
    this.emulator.counters.reset();
  }
}

function publicAccount(account: AccountRecord): EmulatorAccount {
  return {
    account_id: account.account_id,
    email: account.email,
    display_name: account.display_name,
    autoAccept: account.autoAccept,
    email_verified: account.emailVerified !== false,
    team_id: account.team?.id ?? null,
  };
}
