import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Job, Queue } from 'bullmq';
import { ShareExpiryService } from '../../modules/share/share-expiry.service';
import { ShareStatsService } from '../../modules/share/share-stats.service';
import { ShareTuning } from '../../modules/share/share-tuning';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import { QueueName, ShareJob } from '../../queues/queues';

const FLUSH_SCHEDULER_ID = 'share-stats-flush';
const EXPIRY_SCHEDULER_ID = 'share-expiry-sweep';

/** Thin: on schedules, adds the counters the share module keeps in Redis to PostgreSQL, and tells of expiring links. */
@Processor(QueueName.Share, { autorun: false })
export class ShareProcessor extends ConfiguredWorkerHost {
  constructor(
    private readonly stats: ShareStatsService,
    private readonly expiry: ShareExpiryService,
    private readonly tuning: ShareTuning,
    @InjectQueue(QueueName.Share) private readonly queue: Queue,
  ) {
    super();
  }

  override async onApplicationBootstrap(): Promise<void> {
    super.onApplicationBootstrap();
    // A job scheduler (not a timer per process): however many workers run, one flush per interval. Upserting is
    // idempotent, so every worker start may do it.
    await this.queue.upsertJobScheduler(
      FLUSH_SCHEDULER_ID,
      { every: this.tuning.statsFlushMs },
      {
        name: ShareJob.FlushStats,
        opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
    await this.queue.upsertJobScheduler(
      EXPIRY_SCHEDULER_ID,
      { every: this.tuning.expirySweepMs },
      {
        name: ShareJob.ExpirySweep,
        opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case ShareJob.FlushStats:
        await this.stats.flush();
        return;
      case ShareJob.ExpirySweep:
        await this.expiry.sweepExpiring();
        return;
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Share}`);
    }
  }
}
