import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';
import {
  FilesJob,
  jobOptions,
  QueueName,
  SPOOL_HOST_HEARTBEAT,
  spoolHostQueueName,
  UploadJobData,
} from '../../queues/queues';
import type { Upload } from './entities/upload.entity';
import { UploadRepository } from './repositories/upload.repository';

/** What the producer reads on an upload whose spool host went away with its bytes. */
export const SPOOL_HOST_GONE_MESSAGE =
  'the server that received this upload went away before sending it to Dropbox: upload it again';

/**
 * Uploads on hosts that don't share a disk (SPOOL_SHARED=false). An upload's bytes are on the disk of the host that
 * received it (its row's `spoolHost`), so its job goes to that host's own queue, and retries stay there. Each host
 * keeps a heartbeat key in Redis while it runs; every such process also sweeps: a pending upload whose host has had
 * no heartbeat for SPOOL_HOST_TIMEOUT_SECONDS fails with SPOOL_HOST_GONE_MESSAGE, so the producer is told to upload
 * it again rather than left waiting. A host that comes back finds the row failed and sends nothing.
 */
@Injectable()
export class SpoolHosts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SpoolHosts.name);
  private readonly queues = new Map<string, Queue>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly uploads: UploadRepository,
    private readonly redis: RedisService,
    @InjectQueue(QueueName.Files) private readonly shared: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TUNING) private readonly tuning: Tuning,
  ) {}

  /** The host an upload received here is recorded with: none when every process shares the spool. */
  get ownHost(): string | null {
    return this.config.files.spoolShared ? null : this.config.files.spoolHost;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.files.spoolShared) return;
    // Beating before the server listens: no upload is ever spooled here without a live heartbeat.
    const every = Math.max(500, Math.floor(this.config.files.spoolHostTimeoutMs / 4));
    await this.beat();
    this.timer = setInterval(() => {
      void this.beat();
      void this.sweep().catch((err: unknown) =>
        this.logger.warn(`spool host sweep failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }

  /** Queues the upload job where its bytes are: the shared `files` queue, or its spool host's own queue. */
  async enqueue(uploads: Array<Pick<Upload, 'id' | 'spoolHost'>>, jobId: (uploadId: string) => string): Promise<void> {
    const byQueue = new Map<Queue, Array<Pick<Upload, 'id' | 'spoolHost'>>>();
    for (const upload of uploads) {
      const queue = upload.spoolHost ? this.queueOf(upload.spoolHost) : this.shared;
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), upload]);
    }
    for (const [queue, batch] of byQueue) {
      await queue.addBulk(
        batch.map((u) => ({
          name: FilesJob.Upload,
          data: { uploadId: u.id } satisfies UploadJobData,
          opts: { jobId: jobId(u.id) },
        })),
      );
    }
  }

  /** Whether some process of that host has beaten within SPOOL_HOST_TIMEOUT_SECONDS. */
  async alive(host: string): Promise<boolean> {
    return (await this.redis.client.exists(this.redis.key(SPOOL_HOST_HEARTBEAT, host))) === 1;
  }

  /** Fails the pending uploads of every host whose heartbeat expired; returns how many. */
  async sweep(): Promise<number> {
    let failed = 0;
    for (const host of await this.uploads.hostsWithPending()) {
      if (host === this.config.files.spoolHost || (await this.alive(host))) continue;
      // Only rows still pending: one that finished meanwhile (its host was slow, not gone) keeps its result.
      const count = await this.uploads.failPendingOf(host, SPOOL_HOST_GONE_MESSAGE);
      if (count > 0)
        this.logger.warn(
          { spoolHost: host, uploads: count },
          'spool host went quiet: its pending uploads failed (upload them again)',
        );
      failed += count;
    }
    return failed;
  }

  private async beat(): Promise<void> {
    const key = this.redis.key(SPOOL_HOST_HEARTBEAT, this.config.files.spoolHost);
    await this.redis.client
      .set(key, String(process.pid), 'PX', this.config.files.spoolHostTimeoutMs)
      .catch(() => undefined);
  }

  private queueOf(host: string): Queue {
    let queue = this.queues.get(host);
    if (!queue) {
      // The same Redis, prefix and retry policy as the shared queue; only the name differs.
      queue = new Queue(spoolHostQueueName(host), {
        connection: this.shared.opts.connection,
        prefix: this.shared.opts.prefix,
        defaultJobOptions: jobOptions(this.tuning.jobs),
      });
      queue.on('error', () => undefined);
      this.queues.set(host, queue);
    }
    return queue;
  }
}
