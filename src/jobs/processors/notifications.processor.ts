import { Processor } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { EmailDigestService } from '../../modules/notifications/email-digest.service';
import { NotificationsService } from '../../modules/notifications/notifications.service';
import { WebhooksService } from '../../modules/notifications/webhooks.service';
import { ConfiguredWorkerHost } from '../configured-worker-host';
import {
  EmailDigestJobData,
  NotificationEventJobData,
  NotificationsJob,
  QueueName,
  WebhookDeliveryJobData,
} from '../../queues/queues';

/** Thin: events fan out, deliveries are tried (retried by BullMQ with backoff), digests are mailed. */
@Processor(QueueName.Notifications, { autorun: false })
export class NotificationsProcessor extends ConfiguredWorkerHost {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly webhooks: WebhooksService,
    private readonly email: EmailDigestService,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case NotificationsJob.Event:
        return this.notifications.handle(job.data as NotificationEventJobData);
      case NotificationsJob.Deliver:
        return this.webhooks.deliver(job.data as WebhookDeliveryJobData, job.attemptsMade + 1);
      case NotificationsJob.Digest:
        await this.email.send(job.data as EmailDigestJobData);
        return;
      default:
        throw new Error(`no handler for job ${job.name} on ${QueueName.Notifications}`);
    }
  }
}
