import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { ALL_QUEUES } from '../../queues/queues';
import { DropboxGateway } from '../dropbox/dropbox.gateway';
import type { DropboxCallEvent } from '../dropbox/dropbox.types';

/** How often each process publishes its counters to Redis, and how long a silent process's figures stay. */
const PUBLISH_EVERY_MS = 5_000;
const SNAPSHOT_TTL_MS = 60_000;
const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'failed',
  'completed',
  'waiting-children',
  'prioritized',
] as const;

/**
 * Prometheus figures for the whole installation, not just the process that is scraped: every process (web and
 * each worker) keeps its own counters and histograms and publishes them to Redis every few seconds; `/metrics`
 * sums the live snapshots (prom-client's aggregator, as for a Node cluster) and adds the queue sizes, read from
 * Redis at scrape time. A process that stops publishing drops out after a minute (its counters then look like a
 * reset, which Prometheus' rate() handles).
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsService.name);
  private readonly instanceId = randomUUID();
  private readonly registry = new Registry();
  private timer?: NodeJS.Timeout;

  private readonly dropboxCalls = new Counter({
    name: 'pd_dropbox_calls_total',
    help: 'Dropbox API calls by route and HTTP status (0: Dropbox could not be reached)',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly dropboxRateLimited = new Counter({
    name: 'pd_dropbox_rate_limited_total',
    help: 'Dropbox 429 answers (too_many_requests / too_many_write_operations) by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  private readonly dropboxDuration = new Histogram({
    name: 'pd_dropbox_call_duration_seconds',
    help: 'Duration of Dropbox API calls by route',
    labelNames: ['route'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly stepDuration = new Histogram({
    name: 'pd_job_step_duration_seconds',
    help: 'Duration of queue job steps (collaboration: folder, files, invites, sweep) by outcome',
    labelNames: ['queue', 'step', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  constructor(
    private readonly gateway: DropboxGateway,
    private readonly redis: RedisService,
    private readonly moduleRef: ModuleRef,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.gateway.observe((event) => this.recordDropboxCall(event));
    this.timer = setInterval(() => void this.publish().catch(() => undefined), PUBLISH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.gateway.observe(undefined);
    await this.redis.client.zrem(this.indexKey(), this.instanceId).catch(() => undefined);
  }

  recordDropboxCall(event: DropboxCallEvent): void {
    this.dropboxCalls.inc({ route: event.route, status: String(event.status) });
    if (event.status === 429) this.dropboxRateLimited.inc({ route: event.route });
    this.dropboxDuration.observe({ route: event.route }, event.durationMs / 1000);
  }

  recordStep(queue: string, step: string, outcome: 'completed' | 'failed' | 'delayed', seconds: number): void {
    this.stepDuration.observe({ queue, step, outcome }, seconds);
  }

  /** The Prometheus text of every live process plus the queue sizes. */
  async render(): Promise<{ contentType: string; body: string }> {
    const own = await this.registry.getMetricsAsJSON();
    const others = await this.otherSnapshots();
    const aggregated = AggregatorRegistry.aggregate([own, ...others]);
    const merged = Registry.merge([aggregated as Registry, await this.queueRegistry()]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  private async queueRegistry(): Promise<Registry> {
    const registry = new Registry();
    const gauge = new Gauge({
      name: 'pd_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed…), read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    });
    for (const name of ALL_QUEUES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      const counts = await queue.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) gauge.set({ queue: name, state }, counts[state] ?? 0);
    }
    return registry;
  }

  private indexKey(): string {
    return this.redis.key('metrics', 'instances');
  }

  private snapshotKey(id: string): string {
    return this.redis.key('metrics', 'snapshot', id);
  }

  /** Publishes this process's figures (also called at scrape time by tests through render()). */
  async publish(): Promise<void> {
    const snapshot = JSON.stringify(await this.registry.getMetricsAsJSON());
    await this.redis.client
      .multi()
      .set(this.snapshotKey(this.instanceId), snapshot, 'PX', SNAPSHOT_TTL_MS)
      .zadd(this.indexKey(), Date.now(), this.instanceId)
      .zremrangebyscore(this.indexKey(), 0, Date.now() - SNAPSHOT_TTL_MS)
      .exec();
  }

  private async otherSnapshots(): Promise<Array<Awaited<ReturnType<Registry['getMetricsAsJSON']>>>> {
    const ids = (await this.redis.client.zrangebyscore(this.indexKey(), Date.now() - SNAPSHOT_TTL_MS, '+inf')).filter(
      (id) => id !== this.instanceId,
    );
    if (!ids.length) return [];
    const values = await this.redis.client.mget(...ids.map((id) => this.snapshotKey(id)));
    const snapshots = [];
    for (const value of values) {
      if (!value) continue;
      try {
        snapshots.push(JSON.parse(value));
      } catch {
        this.logger.warn('ignoring an unreadable metrics snapshot');
      }
    }
    return snapshots;
  }

  /** Whether `/metrics` needs a bearer token (else: loopback only). */
  get token(): string | undefined {
    return this.config.metrics.token;
  }
}
