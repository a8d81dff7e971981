import { Injectable } from '@nestjs/common';
import type { NotificationEventJobData } from '../../queues/queues';
import { EmailDigestService } from './email-digest.service';
import { EMAIL_EVENTS, EVENT_LABELS, NOTIFICATION_EVENTS } from './notification-types';
import { DeliveryView, WebhooksService, WebhookView } from './webhooks.service';

/** The worker's side of an event: its webhook deliveries and its place in the email digest. */
@Injectable()
export class NotificationsService {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly email: EmailDigestService,
  ) {}

  async handle(event: NotificationEventJobData): Promise<void> {
    await this.webhooks.fanOut(event);
    await this.email.collect(event);
  }

  /** What the Settings page shows: webhooks with their recent deliveries, and the email switches. */
  async settingsModel(userId: string): Promise<{ notifications: Record<string, unknown> }> {
    const hooks = await this.webhooks.list(userId);
    const withLog: Array<WebhookView & { deliveries: DeliveryView[] }> = [];
    for (const hook of hooks) withLog.push({ ...hook, deliveries: await this.webhooks.deliveries(hook.id) });
    const off = await this.email.emailOff(userId);
    return {
      notifications: {
        webhooks: withLog,
        /** Email switches: every event, those told by email only included. */
        events: EMAIL_EVENTS.map((type) => ({ type, label: EVENT_LABELS[type], email: !off.includes(type) })),
        /** What a webhook can subscribe to (the public contract). */
        webhookEvents: NOTIFICATION_EVENTS.map((type) => ({ type, label: EVENT_LABELS[type] })),
        emailEnabled: this.email.enabled,
      },
    };
  }
}
