import { Inject, Injectable, Logger } from '@nestjs/common';
import { async, Dropbox, DropboxResponseError, files, sharing } from 'dropbox';
import nodeFetch, { RequestInfo, RequestInit } from 'node-fetch';
import { withRedisLock } from '../../common/redis/redis-lock';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';
import { DROPBOX_HASH_BLOCK, DropboxContentHasher } from './content-hash';
import {
  DropboxAuthExpired,
  DropboxEmailUnverified,
  DropboxError,
  DropboxFolderUnreachable,
  DropboxIntegrityError,
  DropboxNotFound,
  DropboxPermanent,
  DropboxRateLimited,
  DropboxSpaceUsage,
  DropboxStorageFull,
  DropboxTransient,
  mapDropboxFailure,
  tagChain,
} from './dropbox.errors';
import { DropboxPauses, HOME_NAMESPACE } from './dropbox-pauses';
import { storageFullMessage } from './storage-full';
import { DropboxTokensService } from './dropbox-tokens.service';
import type {
  CopyBatchLaunch,
  CopyEntry,
  CopyEntryResult,
  DropboxAccountInfo,
  DropboxCallEvent,
  DropboxCallObserver,
  DropboxEntry,
  DropboxRevision,
  FolderAccessLevel,
  FolderMembers,
  FolderMemberSelector,
  SharedFolderInfo,
  TemporaryLink,
  UploadOptions,
  UploadSource,
} from './dropbox.types';

type DropboxCallPolicy = Tuning['dropbox'];

/** Renewed every third of it while the write runs; a process killed holding the slot frees it after this long. */
const WRITE_SLOT_TTL_MS = 15_000;
/** Writes that store bytes: when one succeeds, a connection marked full no longer is. */
const STORING_ROUTES = new Set(['files/upload', 'files/upload_session/finish', 'files/copy_batch_v2']);
/** Routes an account with an unverified email can't use: when one succeeds, the email is verified after all. */
const VERIFIED_EMAIL_ROUTES = new Set(['files/get_temporary_link', 'sharing/share_folder', 'sharing/add_folder_member']);
const DROPBOX_HOSTS = /^https:\/\/(api|content|notify)\.dropboxapi\.com(?=\/|$)/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The SDK's fetch: node-fetch (the SDK needs its `buffer()`), with Dropbox's hosts swapped for the configured
 * base URLs — identical in production, the emulator in tests and the demo.
 */
function dropboxFetch(config: AppConfig, timeouts: { rpcMs: number; contentMs: number }) {
  const { apiUrl, contentUrl } = config.dropbox;
  return (url: RequestInfo, init?: RequestInit) => {
    let content = false;
    const target =
      typeof url === 'string'
        ? url.replace(DROPBOX_HOSTS, (_match, host: string) => {
            content = host === 'content';
            return content ? contentUrl : apiUrl;
          })
        : url;
    // A Dropbox that stops answering (rather than refusing) must not hold a page or a job forever: the call fails
    // as a network error, which is retried like any other transient failure. Content calls carry whole chunks.
    return nodeFetch(target, { ...init, timeout: content ? timeouts.contentMs : timeouts.rpcMs });
  };
}

function toEntry(meta: files.FileMetadataReference | files.FolderMetadataReference | files.DeletedMetadataReference | files.FileMetadata): DropboxEntry | null {
  const tag = (meta as { '.tag'?: string })['.tag'] ?? ('rev' in meta ? 'file' : 'folder');
  if (tag === 'deleted') return null;
  if (tag === 'file') {
    const f = meta as files.FileMetadata;
    return {
      kind: 'file',
      id: f.id,
      name: f.name,
      pathLower: f.path_lower ?? '',
      pathDisplay: f.path_display ?? '',
      rev: f.rev,
      size: f.size,
      contentHash: f.content_hash,
      serverModified: f.server_modified,
      downloadable: f.is_downloadable !== false,
    };
  }
  const d = meta as files.FolderMetadata;
  return {
    kind: 'folder',
    id: d.id,
    name: d.name,
    pathLower: d.path_lower ?? '',
    pathDisplay: d.path_display ?? '',
    sharedFolderId: d.sharing_info?.shared_folder_id ?? d.shared_folder_id,
  };
}

/** A field anywhere in a Dropbox error body (struct variants are inlined beside their `.tag`). */
function findField(node: unknown, name: string, depth = 0): unknown {
  if (!node || typeof node !== 'object' || depth > 6) return undefined;
  const record = node as Record<string, unknown>;
  if (name in record) return record[name];
  for (const value of Object.values(record)) {
    const found = findField(value, name, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Chunks of a source from `offset`. A source that can read at a position fills one buffer, reused for every chunk
 * (the caller is done with a chunk before asking for the next): no garbage per chunk, flat memory. Otherwise the
 * stream is cut into fixed-size chunks.
 */
async function* chunksFrom(source: UploadSource, offset: number, chunkSize: number): AsyncGenerator<Buffer> {
  if (!source.read) {
    yield* chunksOf(source.open(offset) as AsyncIterable<Buffer>, chunkSize);
    return;
  }
  const buffer = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(source.size - offset, 1)));
  let position = offset;
  while (position < source.size) {
    const want = Math.min(chunkSize, source.size - position);
    let filled = 0;
    while (filled < want) {
      const n = await source.read(buffer.subarray(filled, want), position + filled);
      if (n === 0) break;
      filled += n;
    }
    if (filled === 0) return;
    yield buffer.subarray(0, filled);
    position += filled;
    if (filled < want) return;
  }
}

/** Reads a stream into fixed-size chunks; at most one chunk (plus the stream's buffer) is in memory. */
async function* chunksOf(stream: AsyncIterable<Buffer>, chunkSize: number): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(chunkSize);
  let fill = 0;
  for await (const piece of stream) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(chunkSize - fill, piece.length - offset);
      piece.copy(chunk, fill, offset, offset + take);
      fill += take;
      offset += take;
      if (fill === chunkSize) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunkSize);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield chunk.subarray(0, fill);
}

// --- Sharing helpers (collaboration pipeline) -------------------------------------------------------------------

const COPY_BATCH_MAX = 1000;
const ASYNC_POLL_FIRST_MS = 100;
const ASYNC_POLL_MAX_MS = 2_000;
const ASYNC_POLL_DEADLINE_MS = 15 * 60_000;

/** Lets a method see the SDK's raw error (values beside the tags) before `call` turns it into a domain error. */
function capturing<T>(promise: Promise<T>, keep: (raw: unknown) => void): Promise<T> {
  return promise.catch((raw: unknown) => {
    keep(raw);
    throw raw;
  });
}

function responseBody(raw: unknown): unknown {
  return raw instanceof DropboxResponseError ? raw.error : undefined;
}

function toSharedFolder(meta: sharing.SharedFolderMetadata): SharedFolderInfo {
  // `path_display` is newer than the SDK's types; `path_lower` is the fallback every version sends to the owner.
  const pathDisplay = (meta as { path_display?: string }).path_display ?? meta.path_lower ?? undefined;
  return { sharedFolderId: meta.shared_folder_id, pathDisplay, previewUrl: meta.preview_url };
}

/** The folder named by an `already_shared` refusal (its metadata rides inside the error). */
function alreadyShared(tags: string[], body: unknown): SharedFolderInfo | undefined {
  if (!tags.includes('already_shared')) return undefined;
  const id = findField(body, 'shared_folder_id');
  if (typeof id !== 'string') return undefined;
  const path = findField(body, 'path_display');
  const preview = findField(body, 'preview_url');
  return {
    sharedFolderId: id,
    pathDisplay: typeof path === 'string' ? path : undefined,
    previewUrl: typeof preview === 'string' ? preview : undefined,
  };
}

function toCopyResult(entry: files.RelocationBatchResultEntry): CopyEntryResult {
  if (entry['.tag'] === 'success') {
    const copied = toEntry((entry as files.RelocationBatchResultEntrySuccess).success as files.FileMetadataReference);
    if (copied) return { ok: true, entry: copied };
  }
  return { ok: false, tags: tagChain((entry as { failure?: unknown }).failure) };
}

/** The address (or account id) Dropbox refused in a `bad_member/…` error of {@link DropboxAccountClient.addFolderMembers}. */
export function refusedMemberOf(err: unknown): string | undefined {
  const value = (err as { refusedMember?: unknown } | null)?.refusedMember;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The only door to Dropbox. Per account: tokens (refreshed single-flight), one write at a time across all
 * processes, Retry-After honoured by every process of the account, jittered retries for transient failures,
 * and SDK errors turned into domain errors.
 */
@Injectable()
export class DropboxGateway {
  private readonly fetch: ReturnType<typeof dropboxFetch>;
  private observer?: DropboxCallObserver;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: DropboxTokensService,
    private readonly redis: RedisService,
    @Inject(TUNING) private readonly tuning: Tuning,
  ) {
    this.fetch = dropboxFetch(config, { rpcMs: tuning.dropbox.rpcTimeoutMs, contentMs: tuning.dropbox.contentTimeoutMs });
  }

  /** A client for a stored connection. */
  account(connection: { id: string; accountId: string }): DropboxAccountClient {
    return new DropboxAccountClient(connection.id, connection.accountId, this, this.tuning.dropbox);
  }

  /** Who a freshly issued access token belongs to (at connect time, before anything is stored). */
  async currentAccount(accessToken: string): Promise<DropboxAccountInfo> {
    try {
      const { result } = await this.sdk(accessToken).usersGetCurrentAccount();
      return { accountId: result.account_id, email: result.email, displayName: result.name.display_name };
    } catch (err) {
      throw this.toDomainError(err, 'users/get_current_account');
    }
  }

  /** Revokes a token; a token Dropbox already forgot counts as revoked. */
  async revoke(accessToken: string): Promise<void> {
    try {
      await this.sdk(accessToken).authTokenRevoke();
    } catch (err) {
      const mapped = this.toDomainError(err, 'auth/token/revoke');
      if (!(mapped instanceof DropboxAuthExpired)) throw mapped;
    }
  }

  /**
   * Metrics hook: one observer (the metrics module) hears of every Dropbox call's route, status and duration.
   * Optional so the gateway works without it (CLI tools, tests of the gateway alone).
   */
  observe(observer: DropboxCallObserver | undefined): void {
    this.observer = observer;
  }

  /** @internal */
  notifyCall(event: DropboxCallEvent): void {
    try {
      this.observer?.(event);
    } catch {
      // Metrics must never break a Dropbox call.
    }
  }

  /** @internal used by DropboxAccountClient */
  sdk(accessToken: string): Dropbox {
    return new Dropbox({ accessToken, fetch: this.fetch });
  }

  /** @internal */
  get tokenService(): DropboxTokensService {
    return this.tokens;
  }

  /** @internal */
  get redisService(): RedisService {
    return this.redis;
  }

  /** @internal */
  get uploadChunkBytes(): number {
    return this.config.dropbox.uploadChunkBytes;
  }

  /** @internal */
  toDomainError(err: unknown, route: string): DropboxError {
    if (err instanceof DropboxError) return err;
    if (err instanceof DropboxResponseError) {
      return mapDropboxFailure({ status: err.status, headers: err.headers, body: err.error }, route);
    }
    // node-fetch's FetchError and socket errors: the network, not Dropbox's answer. The message reaches pages and the
    // API, so it says what happened in the user's words; the network detail (address, ECONNREFUSED…) stays in `cause`
    // for the logs.
    const transient = new DropboxTransient(`Dropbox could not be reached (${route})`, [], route);
    return Object.assign(transient, { cause: err });
  }
}

export class DropboxAccountClient {
  private readonly logger = new Logger('DropboxGateway');

  private readonly pauses: DropboxPauses;

  constructor(
    readonly connectionId: string,
    readonly accountId: string,
    private readonly gateway: DropboxGateway,
    private readonly policy: DropboxCallPolicy,
  ) {
    this.pauses = new DropboxPauses(gateway.redisService, accountId);
  }

  async getMetadata(pathOrId: string): Promise<DropboxEntry> {
    const meta = await this.call('files/get_metadata', 'read', (dbx) => dbx.filesGetMetadata({ path: pathOrId }));
    const entry = toEntry(meta as files.FileMetadataReference);
    if (!entry) throw new DropboxPermanent(`${pathOrId} is deleted`, ['path', 'not_found']);
    return entry;
  }

  /**
   * The folder's path now, found by id (wherever the producer moved or renamed it). A folder Dropbox answers without
   * a path — outside the mounted tree, e.g. in a team space — is a DropboxFolderUnreachable: writing to "" + "/…"
   * would land at the root of the Dropbox.
   */
  async folderPath(folderId: string): Promise<string> {
    const folder = await this.getMetadata(folderId);
    if (!folder.pathDisplay) throw new DropboxFolderUnreachable('files/get_metadata');
    return folder.pathDisplay;
  }

  /** Whether Dropbox says the account's email is verified (the producer's re-check); remembered on the connection. */
  async checkEmailVerified(): Promise<boolean> {
    const account = await this.call('users/get_current_account', 'read', (dbx) => dbx.usersGetCurrentAccount());
    await this.gateway.tokenService.recordEmailUnverified(this.connectionId, !account.email_verified);
    return account.email_verified;
  }

  /** Space used and allocated (the team's allocation for a team account). */
  async spaceUsage(): Promise<DropboxSpaceUsage> {
    const usage = await this.call('users/get_space_usage', 'read', (dbx) => dbx.usersGetSpaceUsage());
    const allocation = usage.allocation as { '.tag': string; allocated?: number };
    return { usedBytes: usage.used, allocatedBytes: Number(allocation.allocated ?? 0) };
  }

  /**
   * The error for a full account, with the figures when Dropbox tells them, remembered on the connection so the
   * dashboard can say so until a write succeeds. Also for copy entries refused with `insufficient_quota`.
   */
  async storageFull(tags: string[], route?: string): Promise<DropboxStorageFull> {
    return this.describeStorageFull(new DropboxStorageFull('Your Dropbox is full', tags, route));
  }

  private async describeStorageFull(err: DropboxStorageFull): Promise<DropboxStorageFull> {
    const usage = await this.spaceUsage().catch(() => undefined);
    err.usage = usage;
    err.message = storageFullMessage(usage);
    await this.gateway.tokenService.recordStorageFull(this.connectionId, usage ?? null).catch((failure: unknown) =>
      this.logger.warn({ err: failure }, 'could not record that the Dropbox is full'),
    );
    return err;
  }

  async createFolder(path: string): Promise<DropboxEntry> {
    const result = await this.call('files/create_folder_v2', 'write', (dbx) => dbx.filesCreateFolderV2({ path, autorename: false }));
    return toEntry({ ...result.metadata, '.tag': 'folder' } as files.FolderMetadataReference)!;
  }

  /** Every entry under `path` (recursive if asked), following cursors; a `reset` cursor restarts the listing. */
  async listFolder(path: string, options: { recursive?: boolean } = {}): Promise<DropboxEntry[]> {
    for (let restart = 0; restart < 3; restart += 1) {
      const entries: DropboxEntry[] = [];
      let page = await this.call('files/list_folder', 'read', (dbx) =>
        dbx.filesListFolder({ path, recursive: options.recursive ?? false, limit: 2000, include_deleted: false }),
      );
      let reset = false;
      for (;;) {
        for (const meta of page.entries) {
          const entry = toEntry(meta);
          if (entry) entries.push(entry);
        }
        if (!page.has_more) return entries;
        const cursor = page.cursor;
        try {
          page = await this.call('files/list_folder/continue', 'read', (dbx) => dbx.filesListFolderContinue({ cursor }));
        } catch (err) {
          if (err instanceof DropboxPermanent && err.tags.includes('reset')) {
            reset = true;
            break;
          }
          throw err;
        }
      }
      if (!reset) return entries;
      this.logger.warn({ path }, 'Dropbox reset the listing cursor; listing again');
    }
    throw new DropboxTransient(`listing ${path} kept being reset`, ['reset']);
  }

  /** Deletes a file or folder; one that is already gone counts as deleted (the call is repeated by retried jobs). */
  async deleteEntry(pathOrId: string): Promise<'deleted' | 'not_found'> {
    try {
      await this.call('files/delete_v2', 'write', (dbx) => dbx.filesDeleteV2({ path: pathOrId }));
      return 'deleted';
    } catch (err) {
      if (err instanceof DropboxNotFound || (err instanceof DropboxError && err.tags.includes('not_found'))) return 'not_found';
      throw err;
    }
  }

  /** The file's revisions, newest first (the current one included). */
  async listRevisions(pathOrId: string, limit = 20): Promise<DropboxRevision[]> {
    const result = await this.call('files/list_revisions', 'read', (dbx) =>
      dbx.filesListRevisions({ path: pathOrId, mode: { '.tag': pathOrId.startsWith('id:') ? 'id' : 'path' }, limit }),
    );
    return result.entries.map((e) => ({ rev: e.rev, size: e.size, contentHash: e.content_hash ?? null, serverModified: e.server_modified }));
  }

  /** Makes an earlier revision current again: a new revision of the same file. */
  async restore(pathOrId: string, rev: string): Promise<DropboxEntry> {
    const meta = await this.call('files/restore', 'write', (dbx) => dbx.filesRestore({ path: pathOrId, rev }));
    return toEntry({ ...meta, '.tag': 'file' } as files.FileMetadataReference)!;
  }

  /** Moves a file or folder (followed by id, so it keeps its id); a taken name is a DropboxConflict. */
  async move(fromPathOrId: string, toPath: string): Promise<DropboxEntry> {
    const result = await this.call('files/move_v2', 'write', (dbx) =>
      dbx.filesMoveV2({ from_path: fromPathOrId, to_path: toPath, autorename: false, allow_ownership_transfer: false }),
    );
    return toEntry(result.metadata as files.FileMetadataReference | files.FolderMetadataReference)!;
  }

  /** A fresh 4-hour link; callers normally go through TemporaryLinksService, which caches it. */
  async temporaryLink(pathOrId: string): Promise<TemporaryLink> {
    const result = await this.call('files/get_temporary_link', 'read', (dbx) => dbx.filesGetTemporaryLink({ path: pathOrId }));
    return { link: result.link, entry: toEntry({ ...result.metadata, '.tag': 'file' } as files.FileMetadataReference)! };
  }

  /**
   * Streams a file of any size into Dropbox: one `files/upload` when it fits a chunk, otherwise an upload
   * session whose cursor and hash state are handed to `onCheckpoint` after each chunk, so a retry (even in
   * another process) resumes where it stopped. The content hash is computed while streaming and must match
   * Dropbox's.
   */
  async upload(path: string, source: UploadSource, options: UploadOptions = {}): Promise<DropboxEntry> {
    try {
      return await this.uploadFrom(path, source, options);
    } finally {
      await source.close?.();
    }
  }

  private async uploadFrom(path: string, source: UploadSource, options: UploadOptions): Promise<DropboxEntry> {
    const chunkSize = this.gateway.uploadChunkBytes;
    const commit: files.CommitInfo = {
      path,
      mode: typeof options.mode === 'object' ? { '.tag': 'update', update: options.mode.update } : { '.tag': options.mode ?? 'add' },
      autorename: options.autorename ?? false,
      mute: true,
    };

    if (source.size <= chunkSize && !options.checkpoint) {
      const hasher = new DropboxContentHasher();
      const parts: Buffer[] = [];
      for await (const piece of chunksFrom(source, 0, chunkSize)) {
        hasher.update(piece);
        parts.push(Buffer.from(piece));
      }
      const contents = Buffer.concat(parts);
      const expected = hasher.digest();
      const meta = await this.call('files/upload', 'write', (dbx) =>
        dbx.filesUpload({ ...commit, contents, content_hash: expected } as files.UploadArg),
      );
      options.onProgress?.(contents.length);
      return this.verified(meta, expected);
    }

    let checkpoint = options.checkpoint ?? null;
    const hasher = new DropboxContentHasher(checkpoint?.blockDigests ?? []);
    let offset = checkpoint?.offset ?? 0;
    let sessionId = checkpoint?.sessionId;
    for await (const chunk of chunksFrom(source, offset, chunkSize)) {
      if (chunk.length % DROPBOX_HASH_BLOCK !== 0 && offset + chunk.length !== source.size) {
        throw new DropboxIntegrityError(`the source of ${path} is shorter than its announced size`);
      }
      hasher.update(chunk);
      if (!sessionId) {
        const started = await this.call('files/upload_session/start', 'read', (dbx) =>
          dbx.filesUploadSessionStart({ close: false, contents: chunk }),
        );
        sessionId = started.session_id;
      } else {
        await this.appendChunk(sessionId, offset, chunk);
      }
      offset += chunk.length;
      options.onProgress?.(offset);
      if (offset < source.size) {
        checkpoint = { sessionId, offset, blockDigests: hasher.savedState() };
        await options.onCheckpoint?.(checkpoint);
      }
    }
    if (!sessionId || offset !== source.size) {
      throw new DropboxIntegrityError(`read ${offset} of ${source.size} bytes of ${path}`);
    }
    const finalSession = sessionId;
    const expected = hasher.digest();
    const meta = await this.call('files/upload_session/finish', 'write', (dbx) =>
      dbx.filesUploadSessionFinish({ cursor: { session_id: finalSession, offset }, commit }),
    );
    await options.onCheckpoint?.(null);
    return this.verified(meta, expected);
  }

  private async appendChunk(sessionId: string, offset: number, chunk: Buffer): Promise<void> {
    try {
      await this.call('files/upload_session/append_v2', 'read', (dbx) =>
        dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset }, close: false, contents: chunk }),
      );
    } catch (err) {
      // A retried append whose first attempt did arrive: Dropbox already holds these bytes.
      if (err instanceof DropboxPermanent && err.tags.includes('incorrect_offset')) {
        const correct = Number((err as DropboxPermanent & { correctOffset?: number }).correctOffset);
        if (correct === offset + chunk.length) return;
      }
      throw err;
    }
  }

  private verified(meta: files.FileMetadata, expectedHash: string): DropboxEntry {
    if (meta.content_hash && meta.content_hash !== expectedHash) {
      throw new DropboxIntegrityError(`Dropbox stored different bytes for ${meta.path_display}: hash mismatch`);
    }
    return toEntry({ ...meta, '.tag': 'file' } as files.FileMetadataReference)!;
  }

  // =============================================================================================================
  // Sharing, for the collaboration pipeline: shared folders, batch copies, members. Writes (share, copy, add,
  // remove, unshare) take the account's write slot; polls and listings are reads.
  // =============================================================================================================

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
      if (err instanceof DropboxPermanent && err.tags.includes('team_policy_disallows_member_policy')) return this.shareFolderOnce(path);
      throw err;
    }
  }

  private async shareFolderOnce(path: string, memberPolicy?: 'anyone'): Promise<SharedFolderInfo> {
    let raw: unknown;
    let launch: sharing.ShareFolderLaunch;
    try {
      launch = await this.call('sharing/share_folder', 'write', (dbx) =>
        capturing(
          dbx.sharingShareFolder({ path, force_async: false, ...(memberPolicy && { member_policy: { '.tag': memberPolicy } }) }),
          (e) => (raw = e),
        ),
      );
    } catch (err) {
      const existing = err instanceof DropboxPermanent ? alreadyShared(err.tags, responseBody(raw)) : undefined;
      if (existing) return existing;
      throw err;
    }
    if (launch['.tag'] === 'complete') return toSharedFolder(launch);
    const jobId = (launch as { async_job_id: string }).async_job_id;
    const status = await this.pollAsync('sharing/check_share_job_status', (dbx) => dbx.sharingCheckShareJobStatus({ async_job_id: jobId }));
    if (status['.tag'] === 'complete') return toSharedFolder(status as sharing.SharedFolderMetadata);
    const failure = (status as { failed?: unknown }).failed;
    const tags = tagChain(failure);
    const existing = alreadyShared(tags, failure);
    if (existing) return existing;
    throw new DropboxPermanent(`Dropbox could not share ${path}: ${tags.join('/') || status['.tag']}`, tags, 'sharing/check_share_job_status');
  }

  /**
   * A shared folder as Dropbox knows it now, found by its id: wherever the producer moved or renamed it. No
   * `pathDisplay` when it is not mounted in the caller's tree (unmounted, or in a team space outside it).
   */
  async sharedFolder(sharedFolderId: string): Promise<SharedFolderInfo> {
    const meta = await this.call('sharing/get_folder_metadata', 'read', (dbx) => dbx.sharingGetFolderMetadata({ shared_folder_id: sharedFolderId }));
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
    const launch = await this.call(
      'files/copy_batch_v2',
      'write',
      (dbx) => dbx.filesCopyBatchV2({ entries: entries.map((e) => ({ from_path: e.fromPath, to_path: e.toPath })), autorename: false }),
      options.intoSharedFolder,
    );
    if (launch['.tag'] === 'complete') return { done: true, results: launch.entries.map(toCopyResult) };
    return { done: false, asyncJobId: (launch as { async_job_id: string }).async_job_id };
  }

  /** Polls a batch copy until it is done (`invalid_async_job_id` when Dropbox no longer knows the job). */
  async waitForCopyBatch(asyncJobId: string): Promise<CopyEntryResult[]> {
    const status = await this.pollAsync('files/copy_batch/check_v2', (dbx) => dbx.filesCopyBatchCheckV2({ async_job_id: asyncJobId }));
    if (status['.tag'] === 'complete') return (status as files.RelocationBatchV2Result).entries.map(toCopyResult);
    throw new DropboxTransient(`the batch copy ended as ${status['.tag']}`, [status['.tag']], 'files/copy_batch/check_v2');
  }

  /**
   * Invites people to a shared folder, all in one call. Dropbox fails the whole call for one bad recipient; the
   * refused address of a `bad_member/invalid_email` is kept on the error (see {@link refusedMemberOf}).
   */
  async addFolderMembers(sharedFolderId: string, emails: string[], accessLevel: FolderAccessLevel): Promise<void> {
    if (emails.length === 0) return;
    let raw: unknown;
    try {
      await this.call(
        'sharing/add_folder_member',
        'write',
        (dbx) =>
          capturing(
            dbx.sharingAddFolderMember({
              shared_folder_id: sharedFolderId,
              members: emails.map((email) => ({ member: { '.tag': 'email', email }, access_level: { '.tag': accessLevel } })),
              quiet: false,
            }),
            (e) => (raw = e),
          ),
        sharedFolderId,
      );
    } catch (err) {
      if (err instanceof DropboxPermanent && err.tags[0] === 'bad_member' && err.tags[1]) {
        const value = findField(responseBody(raw), err.tags[1]);
        if (typeof value === 'string') Object.assign(err, { refusedMember: value });
      }
      throw err;
    }
  }

  /** Everyone in a shared folder, following cursors: joined users and pending invitees. */
  async listFolderMembers(sharedFolderId: string): Promise<FolderMembers> {
    const members: FolderMembers = { joined: [], invited: [] };
    let page = await this.call('sharing/list_folder_members', 'read', (dbx) =>
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
      page = await this.call('sharing/list_folder_members/continue', 'read', (dbx) => dbx.sharingListFolderMembersContinue({ cursor }));
    }
  }

  /** Takes someone out of a shared folder (invitee or member). Someone already gone counts as removed. */
  async removeFolderMember(sharedFolderId: string, member: FolderMemberSelector): Promise<'removed' | 'not_a_member'> {
    const selector: sharing.MemberSelector =
      'email' in member ? { '.tag': 'email', email: member.email } : { '.tag': 'dropbox_id', dropbox_id: member.accountId };
    let launch: async.LaunchResultBase;
    try {
      launch = await this.call(
        'sharing/remove_folder_member',
        'write',
        (dbx) => dbx.sharingRemoveFolderMember({ shared_folder_id: sharedFolderId, member: selector, leave_a_copy: false }),
        sharedFolderId,
      );
    } catch (err) {
      if (err instanceof DropboxPermanent && err.tags.includes('not_a_member')) return 'not_a_member';
      throw err;
    }
    const jobId = (launch as { async_job_id?: string }).async_job_id;
    if (!jobId) return 'removed';
    const status = await this.pollAsync('sharing/check_remove_member_job_status', (dbx) =>
      dbx.sharingCheckRemoveMemberJobStatus({ async_job_id: jobId }),
    );
    if (status['.tag'] === 'complete') return 'removed';
    const tags = tagChain((status as { failed?: unknown }).failed);
    if (tags.includes('not_a_member')) return 'not_a_member';
    throw new DropboxPermanent(`Dropbox could not remove the member: ${tags.join('/') || status['.tag']}`, tags, 'sharing/check_remove_member_job_status');
  }

  /** Stops sharing a folder; members lose access (and, unless `leaveACopy`, their copy). */
  async unshareFolder(sharedFolderId: string, options: { leaveACopy?: boolean } = {}): Promise<void> {
    const launch = await this.call(
      'sharing/unshare_folder',
      'write',
      (dbx) => dbx.sharingUnshareFolder({ shared_folder_id: sharedFolderId, leave_a_copy: options.leaveACopy ?? false }),
      sharedFolderId,
    );
    const jobId = (launch as { async_job_id?: string }).async_job_id;
    if (!jobId) return;
    const status = await this.pollAsync('sharing/check_job_status', (dbx) => dbx.sharingCheckJobStatus({ async_job_id: jobId }));
    if (status['.tag'] === 'complete') return;
    const tags = tagChain((status as { failed?: unknown }).failed);
    throw new DropboxPermanent(`Dropbox could not unshare the folder: ${tags.join('/') || status['.tag']}`, tags, 'sharing/check_job_status');
  }

  /** Polls an async job's check route: short waits first (most jobs finish in a moment), then every 2 s. */
  private async pollAsync<T extends { '.tag': string }>(route: string, fn: (dbx: Dropbox) => Promise<{ result: T }>): Promise<T> {
    const deadline = Date.now() + ASYNC_POLL_DEADLINE_MS;
    let wait = ASYNC_POLL_FIRST_MS;
    for (;;) {
      await sleep(wait);
      const status = await this.call(route, 'read', fn);
      if (status['.tag'] !== 'in_progress') return status;
      if (Date.now() > deadline) throw new DropboxTransient(`Dropbox's job is still running (${route})`, ['in_progress'], route);
      wait = Math.min(wait * 2, ASYNC_POLL_MAX_MS);
    }
  }

  /**
   * One Dropbox call with the account's rules: wait out a Retry-After any process of this account received,
   * hold the account's write slot for writes, refresh an expired token once, retry transient failures.
   */
  private async call<T>(
    route: string,
    kind: 'read' | 'write',
    fn: (dbx: Dropbox) => Promise<{ result: T }>,
    /** The namespace a write lands in: a shared folder's id, or the account's home. */
    namespace: string = HOME_NAMESPACE,
  ): Promise<T> {
    const tokens = this.gateway.tokenService;
    let refreshedFor: string | undefined;
    for (let attempt = 1; ; attempt += 1) {
      const token = await tokens.accessToken(this.connectionId, refreshedFor);
      try {
        const run = async () => {
          const started = performance.now();
          try {
            const { result } = await fn(this.gateway.sdk(token));
            this.gateway.notifyCall({ route, kind, status: 200, durationMs: performance.now() - started });
            if (STORING_ROUTES.has(route)) await tokens.clearStorageFull(this.connectionId);
            if (VERIFIED_EMAIL_ROUTES.has(route)) await tokens.recordEmailUnverified(this.connectionId, false);
            return result;
          } catch (failure) {
            const status = failure instanceof DropboxResponseError ? failure.status : 0;
            const durationMs = performance.now() - started;
            // The pause is recorded in this process before anything else runs (the rest of this process's calls of the
            // account see it at once), then in Redis before this call returns or a write lets go of the write slot.
            const mapped = this.gateway.toDomainError(failure, route);
            const paused = mapped instanceof DropboxRateLimited ? this.pause(kind, namespace, mapped) : undefined;
            this.gateway.notifyCall({ route, kind, status, durationMs });
            await paused;
            throw failure;
          }
        };
        if (kind === 'read') {
          await this.pauses.waitForAccount();
          return await run();
        }
        return await this.writeInNamespace(namespace, run);
      } catch (raw) {
        const err = this.decorate(this.gateway.toDomainError(raw, route), raw);
        if (err instanceof DropboxStorageFull) throw await this.describeStorageFull(err);
        if (err instanceof DropboxEmailUnverified) {
          await tokens.recordEmailUnverified(this.connectionId, true);
          throw err;
        }
        if (err instanceof DropboxAuthExpired) {
          if (err.tags[0] === 'expired_access_token' && refreshedFor !== token) {
            refreshedFor = token; // forces one refresh, then one retry
            attempt -= 1;
            continue;
          }
          await tokens.markExpired(this.connectionId, err.tags.join('/') || 'unauthorized');
          throw err;
        }
        if (!err.retryable || attempt >= this.policy.maxAttempts) throw err;
        const wait = this.retryDelay(err, attempt);
        if (wait > this.policy.maxInlineWaitMs) throw err;
        this.logger.warn({ route, attempt, waitMs: wait, error: err.name }, 'retrying Dropbox call');
        await sleep(wait);
      }
    }
  }

  /**
   * Lock contention (`too_many_write_operations`, or a bare 429 to a write) is about the namespace written to: only
   * writes there wait. A rate limit of the account (`too_many_requests`, any 429 to a read) pauses everything.
   */
  private async pause(kind: 'read' | 'write', namespace: string, err: DropboxRateLimited): Promise<void> {
    const contention = err.tags.includes('too_many_write_operations') || (kind === 'write' && !err.tags.includes('too_many_requests'));
    if (contention) await this.pauses.pauseWrites(namespace, err.retryAfterMs);
    else await this.pauses.pauseAccount(err.retryAfterMs);
  }

  /**
   * A write waits for its namespace's pause without holding the account's write slot (writes elsewhere go on), then
   * takes the slot; a pause that began while it waited for the slot sends it back to waiting.
   */
  private async writeInNamespace<T>(namespace: string, run: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.pauses.waitForWrites(namespace);
      const outcome = await this.withWriteSlot(async () => ((await this.pauses.writesPaused(namespace)) ? null : { value: await run() }));
      if (outcome) return outcome.value;
    }
  }

  private retryDelay(err: DropboxError, attempt: number): number {
    const backoff = Math.min(this.policy.baseBackoffMs * 2 ** (attempt - 1), this.policy.maxBackoffMs);
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    // Never sooner than Dropbox asked; a little later so many waiters don't return at once.
    return err instanceof DropboxRateLimited ? err.retryAfterMs + Math.random() * Math.min(1000, err.retryAfterMs * 0.2) : jittered;
  }

  /** Keeps fields Dropbox sends beside the tag (the correct offset of `incorrect_offset`). */
  private decorate(err: DropboxError, raw: unknown): DropboxError {
    if (raw instanceof DropboxResponseError && err.tags.includes('incorrect_offset')) {
      Object.assign(err, { correctOffset: findField(raw.error, 'correct_offset') });
    }
    return err;
  }

  private withWriteSlot<T>(work: () => Promise<T>): Promise<T> {
    const redis = this.gateway.redisService;
    return withRedisLock(
      redis.client,
      redis.key('dbx', 'write', this.accountId),
      { ttlMs: WRITE_SLOT_TTL_MS, waitMs: this.policy.writeSlotWaitMs },
      work,
    );
  }
}
