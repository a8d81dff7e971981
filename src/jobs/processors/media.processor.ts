import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { availableParallelism } from 'node:os';
import { PreviewsService } from '../../modules/media/previews.service';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import { BuildPreviewJobData, MediaJob, QueueName } from '../../queues/queues';

/** Thin: each job names a file; the media module builds its preview. */
@Processor(QueueName.Media, { autorun: false })
export class MediaProcessor extends ConfiguredWorkerHost {
  constructor(private readonly previews: PreviewsService) {
    super();
  }

  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    // ffmpeg keeps a core busy per build: more builds at once than cores only makes each one slower.
    this.worker.concurrency = Math.max(1, Math.min(this.worker.concurrency, availableParallelism()));
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case MediaJob.BuildPreview:
        return this.previews.build(
          (job.data as BuildPreviewJobData).trackFileId,
          job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        );
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Media}`);
    }
  }
}
