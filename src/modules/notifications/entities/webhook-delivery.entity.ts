import { EntityRepositoryType, Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { randomUUID } from 'node:crypto';
import { WebhookDeliveryRepository } from '../repositories/webhook-delivery.repository';

export type DeliveryStatus = 'delivered' | 'failed';

/** One try of one event to one webhook: the delivery log (the last 50 per webhook are kept). */
@Entity({ tableName: 'webhook_deliveries', repository: () => WebhookDeliveryRepository })
export class WebhookDelivery {
  [EntityRepositoryType]?: WebhookDeliveryRepository;

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'uuid', index: true })
  webhookId: string;

  @Property({ type: 'uuid' })
  eventId: string;

  @Property({ type: 'string', length: 40 })
  eventType: string;

  /** 1 for the first try. */
  @Property({ type: 'integer' })
  attempt: number;

  @Property({ type: 'string', length: 12 })
  status: DeliveryStatus;

  /** The receiver's HTTP status; null when it could not be reached. */
  @Property({ type: 'integer', nullable: true })
  httpStatus: number | null = null;

  /** Why a try failed, in words (never the secret or the body). */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Property({ type: 'datetime' })
  at: Date & Opt = new Date();
}
