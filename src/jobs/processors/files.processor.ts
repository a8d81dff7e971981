import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { AudioAnalysisService } from '../../modules/files/audio-analysis.service';
import { UploadJob } from '../../modules/files/upload-job';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import { AnalyzeAudioJobData, FilesJob, QueueName, UploadJobData } from '../../queues/queues';

/** Thin: each job names a row; the files module does the work. */
@Processor(QueueName.Files, { autorun: false })
export class FilesProcessor extends ConfiguredWorkerHost {
  constructor(
    private readonly uploads: UploadJob,
    private readonly analysis: AudioAnalysisService,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case FilesJob.Upload:
        return this.uploads.process(
          (job.data as UploadJobData).uploadId,
          job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        );
      case FilesJob.AnalyzeAudio:
        return this.analysis.analyze((job.data as AnalyzeAudioJobData).trackFileId);
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Files}`);
    }
  }
}
