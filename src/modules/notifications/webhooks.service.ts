import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bullmq';
import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../common/crypto/secret-box';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';
import { DbContext } from '../../database/db-context';
import {
  jobId,
  NotificationEventJobData,
  NotificationsJob,
  QueueName,
  WebhookDeliveryJobData,
} from '../../queues/queues';
import type { CreateWebhookDto } from './dto/webhook.dto';
import { Webhook } from './entities/webhook.entity';
import { WebhookDeliveryRepository } from './repositories/webhook-delivery.repository';
import { sendWebhook, signature } from './webhook-sender';
import { checkWebhookTarget, WebhookTargetRefused } from './webhook-targets';

/** Entries of the delivery log kept per webhook. */
export const DELIVERY_LOG_SIZE = 50;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  createdAt: Date;
}

export interface DeliveryView {
  eventId: string;
  type: string;
  attempt: number;
  status: string;
  httpStatus: number | null;
  error: string | null;
  at: Date;
}

/** Raised when a try failed: the job is retried with backoff until its attempts run out. */
export class WebhookDeliveryFailed extends Error {}

@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);

  constructor(
    @InjectRepository(Webhook) private readonly webhooks: EntityRepository<Webhook>,
    private readonly deliveryLog: WebhookDeliveryRepository,
    private readonly db: DbContext,
    private readonly box: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TUNING) private readonly tuning: Tuning,
    @InjectQueue(QueueName.Notifications) private readonly queue: Queue,
  ) {}

  private get allowPrivate(): boolean {
    return this.config.notifications.webhooksAllowPrivate;
  }

  /** Stores the webhook with a new secret, which is returned this once and kept only sealed. */
  async create(ownerId: string, dto: CreateWebhookDto): Promise<WebhookView & { secret: string }> {
    const url = new URL(dto.url);
    try {
      await checkWebhookTarget(url, this.allowPrivate);
    } catch (err) {
      if (err instanceof WebhookTargetRefused) {
        throw new BadRequestException({
          message: `url: ${err.message}`,
          errors: [{ field: 'url', message: err.message }],
        });
      }
      throw err;
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const hook = new Webhook();
    hook.ownerId = ownerId;
    hook.url = url.toString();
    hook.events = [...dto.events];
    hook.secretSealed = this.box.seal(secret, `webhook:${hook.id}`);
    this.db.persist(hook);
    await this.db.flush();
    return { ...view(hook), secret };
  }

  async list(ownerId: string): Promise<WebhookView[]> {
    const hooks = await this.webhooks.find({ ownerId }, { orderBy: { createdAt: 'asc' } });
    return hooks.map(view);
  }

  async get(ownerId: string, id: string): Promise<WebhookView & { deliveries: DeliveryView[] }> {
    const hook = await this.webhooks.findOne({ id, ownerId });
    if (!hook) throw new NotFoundException('No such webhook.');
    return { ...view(hook), deliveries: await this.deliveries(hook.id) };
  }

  async deliveries(webhookId: string): Promise<DeliveryView[]> {
    const rows = await this.deliveryLog.find(
      { webhookId },
      { orderBy: { at: 'desc', attempt: 'desc' }, limit: DELIVERY_LOG_SIZE },
    );
    return rows.map((d) => ({
      eventId: d.eventId,
      type: d.eventType,
      attempt: d.attempt,
      status: d.status,
      httpStatus: d.httpStatus,
      error: d.error,
      at: d.at,
    }));
  }

  /** 404 for another producer's webhook, as for one that never existed. */
  async remove(ownerId: string, id: string): Promise<void> {
    const deleted = await this.webhooks.nativeDelete({ id, ownerId });
    if (deleted === 0) throw new NotFoundException('No such webhook.');
  }

  /** One delivery job per webhook of the owner that wants this event type; ids make a re-run add nothing. */
  async fanOut(event: NotificationEventJobData): Promise<number> {
    const hooks = await this.db.run(() =>
      this.webhooks.find({ ownerId: event.ownerId, events: { $contains: [event.type] } }),
    );
    if (hooks.length === 0) return 0;
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data: event.data });
    const t = this.tuning.notifications;
    await this.queue.addBulk(
      hooks.map((hook) => ({
        name: NotificationsJob.Deliver,
        data: { webhookId: hook.id, eventId: event.id, type: event.type, body } satisfies WebhookDeliveryJobData,
        opts: {
          jobId: jobId('deliver', event.id, hook.id),
          attempts: t.webhookAttempts,
          backoff: { type: 'exponential', delay: t.webhookBackoffMs },
        },
      })),
    );
    return hooks.length;
  }

  /** One try: signs and POSTs the event, logs the outcome; throws on failure so the job retries with backoff. */
  deliver(job: WebhookDeliveryJobData, attempt: number): Promise<void> {
    return this.db.run(() => this.tryDelivery(job, attempt));
  }

  private async tryDelivery(job: WebhookDeliveryJobData, attempt: number): Promise<void> {
    const hook = await this.webhooks.findOne({ id: job.webhookId }, { populate: ['secretSealed'] });
    if (!hook) return; // deleted since: nothing to deliver to
    if ((await this.deliveryLog.count({ webhookId: hook.id, eventId: job.eventId, status: 'delivered' })) > 0) return;
    const secret = this.box.open(hook.secretSealed, `webhook:${hook.id}`);
    const result = await sendWebhook(
      hook.url,
      { event: job.type, eventId: job.eventId, signature: signature(secret, job.body) },
      job.body,
      { allowPrivate: this.allowPrivate, timeoutMs: this.tuning.notifications.webhookTimeoutMs },
    );
    this.deliveryLog.create({
      webhookId: hook.id,
      eventId: job.eventId,
      eventType: job.type,
      attempt,
      status: result.ok ? 'delivered' : 'failed',
      httpStatus: result.httpStatus,
      error: result.error?.slice(0, 500) ?? null,
    });
    await this.db.flush();
    await this.deliveryLog.trimLog(hook.id, DELIVERY_LOG_SIZE);
    if (!result.ok) {
      this.logger.warn(
        { webhookId: hook.id, eventId: job.eventId, attempt, httpStatus: result.httpStatus },
        'webhook delivery failed',
      );
      throw new WebhookDeliveryFailed(`webhook ${hook.id}: ${result.error}`);
    }
  }
}

function view(hook: Webhook): WebhookView {
  return { id: hook.id, url: hook.url, events: [...hook.events], createdAt: hook.createdAt };
}
