import type { DefaultJobOptions, Queue } from 'bullmq';
import type { Tuning } from '../config/tuning';

/**
 * Every queue of the server. A job is a pointer to state held in PostgreSQL: payloads carry ids only,
 * so losing Redis loses no work that the database cannot rebuild.
 */
export const QueueName = {
  /** Moving files into Dropbox and reading their audio metadata. */
  Files: 'files',
  /** Share links: adding the view/play/download counters kept in Redis to PostgreSQL. */
  Share: 'share',
  /** Share with collaborators: the pipeline's steps (a flow per run), member refreshes and the scheduled sweep. */
  Collaboration: 'collaboration',
  /** Previews: a lossy rendition, waveform peaks and loudness per file revision, built with ffmpeg. */
  Media: 'media',
  /** Producer notifications: events fanned out to webhooks and email digests, signed webhook deliveries. */
  Notifications: 'notifications',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

export const FilesJob = {
  /** Streams a spooled upload into Dropbox: `{ uploadId }`. */
  Upload: 'upload',
  /** Reads duration, sample rate… of an imported audio file: `{ trackFileId }`. */
  AnalyzeAudio: 'analyze-audio',
} as const;

export interface UploadJobData {
  uploadId: string;
}

/**
 * Where the `upload` job of a file spooled on one host's own disk goes (SPOOL_SHARED=false): a queue of that host
 * alone, taken by the processes whose SPOOL_HOST is that name (its web process, and any worker sharing its disk).
 */
export function spoolHostQueueName(host: string): string {
  return `${QueueName.Files}@${host}`;
}

/** Redis key part of a spool host's heartbeat: present while some process of that host takes its uploads. */
export const SPOOL_HOST_HEARTBEAT = 'spool-host';

export interface AnalyzeAudioJobData {
  trackFileId: string;
}

export const MediaJob = {
  /** Builds the preview of one revision of an audio file: `{ trackFileId, revision }`. */
  BuildPreview: 'build-preview',
} as const;

export interface BuildPreviewJobData {
  trackFileId: string;
  /** The revision the job was asked for (Dropbox content hash, else rev); the job builds the live one. */
  revision: string;
}

/** What identifies a revision of a file's bytes: Dropbox's content hash, or its rev where no hash is known. */
export function revisionKey(file: { contentHash?: string | null; rev?: string | null }): string | null {
  return file.contentHash ?? file.rev ?? null;
}

/**
 * The job that builds a file revision's preview, for every producer of such jobs (imports, uploads, new revisions,
 * shares). The id is deterministic per revision, so asking twice builds once; `rebuild` counts the times a preview
 * that went missing in Dropbox was asked for again (a new id, since the first job is kept as done).
 */
export function previewJob(file: { id: string; contentHash?: string | null; rev?: string | null }, rebuild = 0) {
  const revision = revisionKey(file) ?? 'unknown';
  return {
    name: MediaJob.BuildPreview,
    data: { trackFileId: file.id, revision } satisfies BuildPreviewJobData,
    opts: { jobId: jobId('preview', file.id, revision.slice(0, 64), ...(rebuild > 0 ? [`r${rebuild}`] : [])) },
  };
}

/** Queues the preview of a file's current revision (see previewJob); the same revision asked twice is built once. */
export async function enqueuePreview(
  queue: Queue,
  file: { id: string; contentHash?: string | null; rev?: string | null },
  rebuild = 0,
): Promise<void> {
  const spec = previewJob(file, rebuild);
  await queue.add(spec.name, spec.data, spec.opts);
}

export const ShareJob = {
  /** Scheduled (one run across all workers): moves pending share counters into PostgreSQL. No payload. */
  FlushStats: 'flush-stats',
  /** Scheduled (one run across all workers): tells producers of links expiring in 3 days, once each. No payload. */
  ExpirySweep: 'expiry-sweep',
} as const;

export const NotificationsJob = {
  /** One event published by a module: `NotificationEventJobData`; fans out to the owner's webhooks and email. */
  Event: 'event',
  /** One signed POST of one event to one webhook: `WebhookDeliveryJobData`; retried with backoff. */
  Deliver: 'deliver',
  /** The email digest of one share: `EmailDigestJobData`; sends what collected since the last one. */
  Digest: 'digest',
} as const;

export interface NotificationEventJobData {
  /** The event's id (a UUID): receivers drop duplicates by it. */
  id: string;
  type: string;
  ownerId: string;
  createdAt: string;
  data: Record<string, unknown>;
}

export interface WebhookDeliveryJobData {
  webhookId: string;
  eventId: string;
  type: string;
  /** The exact bytes signed and sent, the same on every try. */
  body: string;
}

export interface EmailDigestJobData {
  ownerId: string;
  /** What the digest is about (a share id), or `account` for events that name no share. */
  subject: string;
}

/**
 * Retry and retention for every job, decided here and nowhere else (the queues' defaults; flows copy them from the
 * queue). Tries and backoff come from Tuning: in production 8 tries, exponential from 5 s (5, 10, 20, 40 … s);
 * finished jobs are kept a day (or the last 1,000) for the dashboard, failed ones a week.
 */
export function jobOptions(jobs: Tuning['jobs']): DefaultJobOptions {
  return {
    attempts: jobs.attempts,
    backoff: { type: 'exponential', delay: jobs.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 1_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
  };
}

/** BullMQ forbids ':' in custom job ids (it separates key parts), so deterministic ids join with '-'. */
export function jobId(...parts: Array<string | number>): string {
  const id = parts.join('-');
  if (id.includes(':')) throw new Error(`job id must not contain ':' (${id})`);
  return id;
}
