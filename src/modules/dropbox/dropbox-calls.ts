import { Logger } from '@nestjs/common';
import { Dropbox, DropboxResponseError } from 'dropbox';
import { withRedisLock } from '../../common/redis/redis-lock';
import type { RedisService } from '../../common/redis/redis.module';
import type { Tuning } from '../../config/tuning';
import {
  DropboxAuthExpired,
  DropboxEmailUnverified,
  DropboxError,
  DropboxRateLimited,
  DropboxSpaceUsage,
  DropboxStorageFull,
  DropboxTransient,
} from './dropbox.errors';
import { withErrorFields } from './dropbox-error-fields';
import { DropboxPauses, HOME_NAMESPACE } from './dropbox-pauses';
import type { DropboxTokensService } from './dropbox-tokens.service';
import type { DropboxCallEvent } from './dropbox.types';
import { storageFullMessage } from './storage-full';

/** What the account's calls need of the gateway: tokens, Redis, an SDK per token, the metrics hook, error mapping. */
export interface DropboxTransport {
  readonly tokens: DropboxTokensService;
  readonly redis: RedisService;
  sdk(accessToken: string): Dropbox;
  notifyCall(event: DropboxCallEvent): void;
  toDomainError(err: unknown, route: string): DropboxError;
}

/** Renewed every third of it while the write runs; a process killed holding the slot frees it after this long. */
const WRITE_SLOT_TTL_MS = 15_000;
/** Writes that store bytes: when one succeeds, a connection marked full no longer is. */
const STORING_ROUTES = new Set(['files/upload', 'files/upload_session/finish', 'files/copy_batch_v2']);
/** Routes an account with an unverified email can't use: when one succeeds, the email is verified after all. */
const VERIFIED_EMAIL_ROUTES = new Set([
  'files/get_temporary_link',
  'sharing/share_folder',
  'sharing/add_folder_member',
]);
const ASYNC_POLL_DEADLINE_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The calls of one connected account, with its rules: tokens refreshed once, one write at a time across all
 * processes, Retry-After honoured by every process of the account, jittered retries for transient failures, SDK
 * errors turned into domain errors with their typed fields. The account client, uploads and sharing go through it.
 */
export class DropboxAccountCalls {
  private readonly logger = new Logger('DropboxGateway');
  private readonly pauses: DropboxPauses;

  constructor(
    readonly connectionId: string,
    readonly accountId: string,
    private readonly transport: DropboxTransport,
    private readonly policy: Tuning['dropbox'],
  ) {
    this.pauses = new DropboxPauses(transport.redis, accountId);
  }

  /** Space used and allocated (the team's allocation for a team account). */
  async spaceUsage(): Promise<DropboxSpaceUsage> {
    const usage = await this.call('users/get_space_usage', 'read', (dbx) => dbx.usersGetSpaceUsage());
    const allocation = usage.allocation as { '.tag': string; allocated?: number };
    return { usedBytes: usage.used, allocatedBytes: Number(allocation.allocated ?? 0) };
  }

  /**
   * A full account's error with the figures when Dropbox tells them, remembered on the connection so the dashboard
   * can say so until a write succeeds.
   */
  async describeStorageFull(err: DropboxStorageFull): Promise<DropboxStorageFull> {
    const usage = await this.spaceUsage().catch(() => undefined);
    err.usage = usage;
    err.message = storageFullMessage(usage);
    await this.transport.tokens
      .recordStorageFull(this.connectionId, usage ?? null)
      .catch((failure: unknown) => this.logger.warn({ err: failure }, 'could not record that the Dropbox is full'));
    return err;
  }

  /** Polls an async job's check route: short waits first (most jobs finish in a moment), then every 2 s (Tuning). */
  async pollAsync<T extends { '.tag': string }>(
    route: string,
    fn: (dbx: Dropbox) => Promise<{ result: T }>,
  ): Promise<T> {
    const deadline = Date.now() + ASYNC_POLL_DEADLINE_MS;
    let wait = this.policy.asyncPollFirstMs;
    for (;;) {
      await sleep(wait);
      const status = await this.call(route, 'read', fn);
      if (status['.tag'] !== 'in_progress') return status;
      if (Date.now() > deadline)
        throw new DropboxTransient(`Dropbox's job is still running (${route})`, ['in_progress'], route);
      wait = Math.min(wait * 2, this.policy.asyncPollMaxMs);
    }
  }

  /**
   * One Dropbox call with the account's rules: wait out a Retry-After any process of this account received,
   * hold the account's write slot for writes, refresh an expired token once, retry transient failures.
   */
  async call<T>(
    route: string,
    kind: 'read' | 'write',
    fn: (dbx: Dropbox) => Promise<{ result: T }>,
    /** The namespace a write lands in: a shared folder's id, or the account's home. */
    namespace: string = HOME_NAMESPACE,
  ): Promise<T> {
    const tokens = this.transport.tokens;
    let refreshedFor: string | undefined;
    for (let attempt = 1; ; attempt += 1) {
      const token = await tokens.accessToken(this.connectionId, refreshedFor);
      try {
        const run = async () => {
          const started = performance.now();
          try {
            const { result } = await fn(this.transport.sdk(token));
            this.transport.notifyCall({ route, kind, status: 200, durationMs: performance.now() - started });
            if (STORING_ROUTES.has(route)) await tokens.clearStorageFull(this.connectionId);
            if (VERIFIED_EMAIL_ROUTES.has(route)) await tokens.recordEmailUnverified(this.connectionId, false);
            return result;
          } catch (failure) {
            const status = failure instanceof DropboxResponseError ? failure.status : 0;
            const durationMs = performance.now() - started;
            // The pause is recorded in this process before anything else runs (the rest of this process's calls of the
            // account see it at once), then in Redis before this call returns or a write lets go of the write slot.
            const mapped = this.transport.toDomainError(failure, route);
            const paused = mapped instanceof DropboxRateLimited ? this.pause(kind, namespace, mapped) : undefined;
            this.transport.notifyCall({ route, kind, status, durationMs });
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
        const err = withErrorFields(this.transport.toDomainError(raw, route), raw);
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
    const contention =
      err.tags.includes('too_many_write_operations') || (kind === 'write' && !err.tags.includes('too_many_requests'));
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
      const outcome = await this.withWriteSlot(async () =>
        (await this.pauses.writesPaused(namespace)) ? null : { value: await run() },
      );
      if (outcome) return outcome.value;
    }
  }

  private retryDelay(err: DropboxError, attempt: number): number {
    const backoff = Math.min(this.policy.baseBackoffMs * 2 ** (attempt - 1), this.policy.maxBackoffMs);
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    // Never sooner than Dropbox asked; a little later so many waiters don't return at once.
    return err instanceof DropboxRateLimited
      ? err.retryAfterMs + Math.random() * Math.min(1000, err.retryAfterMs * 0.2)
      : jittered;
  }

  private withWriteSlot<T>(work: () => Promise<T>): Promise<T> {
    const redis = this.transport.redis;
    return withRedisLock(
      redis.client,
      redis.key('dbx', 'write', this.accountId),
      { ttlMs: WRITE_SLOT_TTL_MS, waitMs: this.policy.writeSlotWaitMs },
      work,
    );
  }
}
