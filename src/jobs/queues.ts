import type { DefaultJobOptions } from 'bullmq';

/**
 * Every queue of the server. A job is a pointer to state held in PostgreSQL: payloads carry ids only,
 * so losing Redis loses no work that the database cannot rebuild.
 */
export const QueueName = {
  /** Background maintenance on a schedule (fires once across all instances). */
  Maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

/**
 * Retry and retention for every job, decided here and nowhere else. Exponential backoff starts at 5 s
 * (5, 10, 20, 40 … s); finished jobs are kept a day (or the last 1,000) for the dashboard, failed ones a week.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
};

/** BullMQ forbids ':' in custom job ids (it separates key parts), so deterministic ids join with '-'. */
export function jobId(...parts: Array<string | number>): string {
  const id = parts.join('-');
  if (id.includes(':')) throw new Error(`job id must not contain ':' (${id})`);
  return id;
}
