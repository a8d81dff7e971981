import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { createHash, randomUUID } from 'node:crypto';
import { jobId, NotificationEventJobData, NotificationsJob, QueueName } from '../../queues/queues';
import type { PublishedEventType } from './notification-types';

export interface PublishOptions {
  /** A stable id for an event that must happen once (a share's first open): publishing it again is a no-op. */
  id?: string;
}

/**
 * What other modules call to tell a producer something happened. It only enqueues one job (the event itself,
 * id deterministic from the event id), so a page never waits for webhooks, email or the database; the worker fans
 * the event out to the owner's webhooks and email digest.
 */
@Injectable()
export class NotificationEvents {
  private readonly logger = new Logger(NotificationEvents.name);

  constructor(@InjectQueue(QueueName.Notifications) private readonly queue: Queue) {}

  /** Resolves once the event is in Redis; never throws (a lost notification must not fail the caller's work). */
  async publish(
    ownerId: string,
    type: PublishedEventType,
    data: Record<string, unknown>,
    options: PublishOptions = {},
  ): Promise<string | null> {
    const event: NotificationEventJobData = {
      id: options.id ?? randomUUID(),
      type,
      ownerId,
      createdAt: new Date().toISOString(),
      data,
    };
    try {
      await this.queue.add(NotificationsJob.Event, event, { jobId: jobId('event', event.id), attempts: 5 });
      return event.id;
    } catch (err) {
      this.logger.warn({ type, error: (err as Error).message }, 'could not publish a notification event');
      return null;
    }
  }
}

/** A UUID-shaped id that is the same every time for the same key (for once-only events such as a first open). */
export function stableEventId(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
