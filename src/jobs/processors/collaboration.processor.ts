import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { DelayedError, Job, Queue } from 'bullmq';
import { CollaborationExpiryService } from '../../modules/collaboration/collaboration-expiry.service';
import { CollaborationService } from '../../modules/collaboration/collaboration.service';
import { CollaborationTimings } from '../../modules/collaboration/collaboration-timings';
import { PipelineRunnerService } from '../../modules/collaboration/pipeline-runner.service';
import { DropboxRateLimited } from '../../modules/dropbox/dropbox.errors';
import { MetricsService } from '../../modules/metrics/metrics.service';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import {
  COLLABORATION_SWEEP_SCHEDULER,
  CollaborationExpiryJobData,
  CollaborationJob,
  CollaborationStepJobData,
  PIPELINE_JOB_STEPS,
  PipelineJobStep,
} from '../../queues/flows';
import { QueueName } from '../../queues/queues';

/** Thin: each job names a pipeline run and a step; the collaboration module does the work. */
@Processor(QueueName.Collaboration, { autorun: false })
export class CollaborationProcessor extends ConfiguredWorkerHost {
  private readonly logger = new Logger(CollaborationProcessor.name);

  constructor(
    private readonly runner: PipelineRunnerService,
    private readonly collaboration: CollaborationService,
    private readonly expiry: CollaborationExpiryService,
    private readonly metrics: MetricsService,
    @InjectQueue(QueueName.Collaboration) private readonly queue: Queue,
    private readonly timings: CollaborationTimings,
  ) {
    super();
  }

  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    // A job scheduler fires once per interval across every process (upserting it again from each worker is harmless).
    this.queue
      .upsertJobScheduler(
        COLLABORATION_SWEEP_SCHEDULER,
        { every: this.timings.sweepEveryMs },
        { name: CollaborationJob.Sweep, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
      )
      .catch((err: unknown) => this.logger.warn({ err }, 'could not schedule the collaboration sweep'));
  }

  async process(job: Job, token?: string): Promise<void> {
    const started = performance.now();
    let outcome: 'completed' | 'failed' | 'delayed' = 'failed';
    try {
      if ((PIPELINE_JOB_STEPS as readonly string[]).includes(job.name)) {
        const isLastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        await this.runner.runStep(job.data as CollaborationStepJobData, job.name as PipelineJobStep, isLastAttempt);
      } else if (job.name === CollaborationJob.Sweep) {
        await this.collaboration.sweep();
      } else if (job.name === CollaborationJob.Expire) {
        const isLastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if ((await this.expiry.endAccess(job.data as CollaborationExpiryJobData, isLastAttempt)) === 'wait') {
          if (!token) throw new Error('a run of this pipeline is still going');
          await job.moveToDelayed(Date.now() + this.timings.expiryRecheckMs, token);
          outcome = 'delayed';
          throw new DelayedError();
        }
      } else {
        throw new Error(`no handler for job ${job.name} on ${QueueName.Collaboration}`);
      }
      outcome = 'completed';
    } catch (err) {
      // Dropbox asked for a pause longer than the gateway waits in-process: come back after it, without using up
      // an attempt (the gateway has already paused that namespace, or the account, for every process).
      if (err instanceof DropboxRateLimited && token) {
        await job.moveToDelayed(Date.now() + err.retryAfterMs, token);
        outcome = 'delayed';
        throw new DelayedError();
      }
      throw err;
    } finally {
      this.metrics.recordStep(QueueName.Collaboration, job.name, outcome, (performance.now() - started) / 1000);
    }
  }
}
