import { WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { reportConnectionErrors } from '../queues/connection-errors';

/**
 * A processor whose worker takes its concurrency and lock timing from the configuration. Workers are declared
 * with `autorun: false` and started here, once the options are applied. A worker killed mid-job loses its lock
 * after JOB_LOCK_SECONDS and another worker (or the restarted one) picks the job up.
 */
export abstract class ConfiguredWorkerHost extends WorkerHost implements OnApplicationBootstrap {
  @Inject(APP_CONFIG) private readonly appConfig: AppConfig;

  onApplicationBootstrap(): void {
    const options = this.worker.opts as {
      lockDuration: number;
      lockRenewTime: number;
      stalledInterval: number;
      maxStalledCount: number;
    };
    options.lockDuration = this.appConfig.workers.lockMs;
    options.lockRenewTime = this.appConfig.workers.lockMs / 2;
    options.stalledInterval = this.appConfig.workers.lockMs;
    // A job whose worker died is retried, not failed, a few times (each death is one stall).
    options.maxStalledCount = 5;
    // The worker copied its lock timings into its lock manager when it was built (BullMQ's 30 s lock, renewed every
    // 15 s): built again with these, or a job longer than a shorter lock would be taken as stalled and run twice.
    (this.worker as unknown as { createLockManager(): void }).createLockManager();
    this.worker.concurrency = this.appConfig.workers.concurrency;
    reportConnectionErrors(this.worker, `worker ${this.worker.name}`);
    void this.worker.run();
  }
}
