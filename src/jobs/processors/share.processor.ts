import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Job, Queue } from 'bullmq';
import { ShareStatsService } from '../../modules/share/share-stats.service';
import { ShareTuning } from '../../modules/share/share-tuning';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import { QueueName, ShareJob } from '../../queues/queues';

const FLUSH_SCHEDULER_ID = 'share-stats-flush';

/** Thin: the share module counts in Redis; this adds the counts to PostgreSQL on a schedule. */
@Processor(QueueName.Share, { autorun: false })
export class ShareProcessor extends ConfiguredWorkerHost {
  constructor(
    private readonly stats: ShareStatsService,
    private readonly tuning: ShareTuning,
    @InjectQueue(QueueName.Share) private readonly queue: Queue,
  ) {
    super();
  }

  override async onApplicationBootstrap(): Promise<void> {
    super.onApplicationBootstrap();
    // A job scheduler (not a timer per process): however many workers run, one flush per interval. Upserting is
    // idempotent, so every worker start may do it.
    await this.queue.upsertJobScheduler(FLUSH_SCHEDULER_ID, { every: this.tuning.statsFlushMs }, {
      name: ShareJob.FlushStats,
      opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case ShareJob.FlushStats:
        await this.stats.flush();
        return;
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Share}`);
    }
  }
}
