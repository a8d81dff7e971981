import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { UploadJob } from '../modules/files/upload-job';
import { reportConnectionErrors } from '../queues/connection-errors';
import { FilesJob, spoolHostQueueName, UploadJobData } from '../queues/queues';
import { bullConnection } from './redis-connection';

/**
 * With SPOOL_SHARED=false, every process (web or worker) takes the upload jobs of its own SPOOL_HOST: the web
 * process that received an upload sends it into Dropbox itself, whatever WORKERS says, since no other host has its
 * bytes. Same lock and stall handling as the other workers, so a process killed mid-transfer is resumed by the next
 * process of that host from the upload's checkpoint.
 */
@Injectable()
export class SpoolHostWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SpoolHostWorker.name);
  private worker?: Worker;

  constructor(
    private readonly uploads: UploadJob,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.files.spoolShared) return;
    const name = spoolHostQueueName(this.config.files.spoolHost);
    this.worker = new Worker(name, (job: Job) => this.process(job), {
      connection: bullConnection(this.config),
      prefix: `${this.config.redis.prefix}-bull`,
      concurrency: this.config.workers.concurrency,
      lockDuration: this.config.workers.lockMs,
      stalledInterval: this.config.workers.lockMs,
      maxStalledCount: 5,
    });
    reportConnectionErrors(this.worker, `worker ${name}`);
    this.logger.log(`taking the uploads spooled on ${this.config.files.spoolHost} (${name})`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
  }

  private async process(job: Job): Promise<void> {
    if (job.name !== FilesJob.Upload) throw new Error(`no handler for job ${job.name} on ${job.queueName}`);
    await this.uploads.process((job.data as UploadJobData).uploadId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
  }
}
