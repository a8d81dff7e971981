import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import nodemailer, { type Transporter } from 'nodemailer';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Tuning, TUNING } from '../../config/tuning';
import { DbContext } from '../../database/db-context';
import { EmailDigestJobData, jobId, NotificationEventJobData, NotificationsJob, QueueName } from '../../queues/queues';
import { UsersService } from '../accounts/users.service';
import { NotificationSettings } from './entities/notification-settings.entity';
import { digestMessage } from './email-digest.message';

/**
 * Email to the producer, at most one per share per window (a digest). Each event joins its share's list in
 * Redis; the first event of a quiet share schedules the digest job (a Redis NX key makes that once per window),
 * and the job sends everything collected in one message, then removes what it sent. A send that fails leaves the
 * list as it was, so the job's retry sends the same events.
 */
@Injectable()
export class EmailDigestService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(EmailDigestService.name);
  private transport: Transporter | null = null;

  constructor(
    @InjectRepository(NotificationSettings) private readonly settings: EntityRepository<NotificationSettings>,
    private readonly db: DbContext,
    private readonly redis: RedisService,
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TUNING) private readonly tuning: Tuning,
    @InjectQueue(QueueName.Notifications) private readonly queue: Queue,
  ) {}

  onModuleInit(): void {
    const { smtpUrl } = this.config.notifications;
    if (!smtpUrl) {
      this.logger.log('SMTP_URL is not set: notification emails are off (webhooks still work)');
      return;
    }
    this.transport = nodemailer.createTransport(smtpUrl);
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }

  get enabled(): boolean {
    return this.transport !== null;
  }

  private keys(ownerId: string, subject: string) {
    const k = (name: string) => this.redis.key('notify', name, ownerId, subject);
    return { list: k('digest'), scheduled: k('digest-scheduled'), last: k('digest-last'), counter: k('digest-n') };
  }

  /** The event types a producer does not want mailed. */
  async emailOff(ownerId: string): Promise<string[]> {
    return (await this.settings.findOne({ ownerId }))?.emailOff ?? [];
  }

  async setEmailOff(ownerId: string, off: string[]): Promise<void> {
    await this.settings.upsert({ ownerId, emailOff: [...new Set(off)] });
  }

  /** Adds the event to its share's digest (when email is on and the producer wants this type). */
  async collect(event: NotificationEventJobData): Promise<boolean> {
    if (!this.transport) return false;
    if ((await this.db.run(() => this.emailOff(event.ownerId))).includes(event.type)) return false;
    const subject = typeof event.data.shareId === 'string' ? event.data.shareId : 'account';
    // An event job that is retried after this point must not put the event into the digest twice.
    const once = await this.redis.client.set(
      this.redis.key('notify', 'collected', event.id),
      '1',
      'EX',
      7 * 24 * 3600,
      'NX',
    );
    if (once !== 'OK') return false;
    await this.redis.client.rpush(this.keys(event.ownerId, subject).list, JSON.stringify(event));
    await this.schedule(event.ownerId, subject);
    return true;
  }

  /** Events collected and not yet mailed, for one share. */
  async pending(ownerId: string, subject: string): Promise<number> {
    return this.redis.client.llen(this.keys(ownerId, subject).list);
  }

  private async schedule(ownerId: string, subject: string): Promise<void> {
    const keys = this.keys(ownerId, subject);
    const { digestWindowMs, digestGatherMs } = this.tuning.notifications;
    const last = Number(await this.redis.client.get(keys.last)) || 0;
    const delay = Math.max(digestGatherMs, last + digestWindowMs - Date.now());
    // Expires on its own, so a digest job lost with Redis data cannot silence a share for good.
    const first = await this.redis.client.set(keys.scheduled, '1', 'PX', delay + digestWindowMs + 3_600_000, 'NX');
    if (first !== 'OK') return;
    const n = await this.redis.client.incr(keys.counter);
    await this.queue.add(NotificationsJob.Digest, { ownerId, subject } satisfies EmailDigestJobData, {
      jobId: jobId('digest', ownerId, subject, n),
      delay,
      attempts: 8,
    });
  }

  /** The digest job: one email with every event collected for the share. */
  async send(job: EmailDigestJobData): Promise<number> {
    const keys = this.keys(job.ownerId, job.subject);
    const raw = await this.redis.client.lrange(keys.list, 0, -1);
    if (raw.length === 0 || !this.transport) {
      await this.redis.client.del(keys.scheduled);
      return 0;
    }
    const user = await this.db.run(() => this.users.findActiveById(job.ownerId));
    if (user) {
      const events = raw.map((r) => JSON.parse(r) as NotificationEventJobData);
      const message = digestMessage(events, this.config.http.publicUrl);
      await this.transport.sendMail({
        from: this.config.notifications.mailFrom,
        to: { name: user.name, address: user.email },
        ...message,
      });
    }
    await this.redis.client
      .multi()
      .ltrim(keys.list, raw.length, -1)
      .set(keys.last, String(Date.now()), 'PX', this.tuning.notifications.digestWindowMs)
      .del(keys.scheduled)
      .exec();
    // Events that arrived while this one was being sent start the next window.
    if ((await this.redis.client.llen(keys.list)) > 0) await this.schedule(job.ownerId, job.subject);
    return raw.length;
  }
}
