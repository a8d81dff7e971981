import type { FlowJob, FlowProducer, JobsOptions, Queue } from 'bullmq';
import { jobId, QueueName } from './queues';

/** Job names on the collaboration queue. */
export const CollaborationJob = {
  Folder: 'folder',
  Files: 'files',
  Invites: 'invites',
  /** Fired by the job scheduler: refreshes due pipelines and re-queues runs whose jobs went missing. */
  Sweep: 'sweep',
  /** A share's end came: removes the invited collaborators from its folder. */
  Expire: 'expire',
} as const;

export const PIPELINE_JOB_STEPS = [CollaborationJob.Folder, CollaborationJob.Files, CollaborationJob.Invites] as const;
export type PipelineJobStep = (typeof PIPELINE_JOB_STEPS)[number];

/** Which run of which pipeline a step job belongs to; a job whose generation or run is no longer current does nothing. */
export interface CollaborationStepJobData {
  pipelineId: string;
  generation: number;
  run: number;
}

export const COLLABORATION_SWEEP_SCHEDULER = 'collab-sweep';

/**
 * `collab-{pipelineId}-g{generation}-r{run}-{step}`: the same run always gets the same ids, so enqueueing it twice
 * (a double click, a crash between the database write and the enqueue, the sweep re-queueing) adds nothing.
 * Reset bumps the generation; start, "share with remaining" and retry bump the run.
 */
export function stepJobId(ref: CollaborationStepJobData, step: PipelineJobStep): string {
  return jobId('collab', ref.pipelineId, `g${ref.generation}`, `r${ref.run}`, step);
}

/**
 * A run as one BullMQ flow: folder → files → invites, each the child of the next, so a step starts only when the
 * one before it completed, and a step that fails for good fails the steps after it (`failParentOnFailure`).
 * Each step is idempotent: a step with nothing left to do finishes without calling Dropbox, so every run
 * carries all three and "retry" resumes where the work stopped.
 */
export function pipelineRunFlow(ref: CollaborationStepJobData, defaults: JobsOptions): FlowJob {
  const data: CollaborationStepJobData = { pipelineId: ref.pipelineId, generation: ref.generation, run: ref.run };
  // A flow producer doesn't apply the queue's default options: every node carries them.
  const opts = (step: PipelineJobStep, child: boolean): JobsOptions => ({
    ...defaults,
    jobId: stepJobId(ref, step),
    ...(child ? { failParentOnFailure: true } : {}),
  });
  return {
    name: CollaborationJob.Invites,
    queueName: QueueName.Collaboration,
    data,
    opts: opts(CollaborationJob.Invites, false),
    children: [
      {
        name: CollaborationJob.Files,
        queueName: QueueName.Collaboration,
        data,
        opts: opts(CollaborationJob.Files, true),
        children: [
          {
            name: CollaborationJob.Folder,
            queueName: QueueName.Collaboration,
            data,
            opts: opts(CollaborationJob.Folder, true),
          },
        ],
      },
    ],
  };
}

/** Adds the run's flow unless some job of it is already in Redis (waiting, running, done or failed). */
export async function ensureRunQueued(
  flows: FlowProducer,
  queue: Queue,
  ref: CollaborationStepJobData,
): Promise<boolean> {
  const existing = await Promise.all(PIPELINE_JOB_STEPS.map((step) => queue.getJob(stepJobId(ref, step))));
  if (existing.some(Boolean)) return false;
  await flows.add(pipelineRunFlow(ref, queue.defaultJobOptions));
  return true;
}

/**
 * Takes a run's jobs out of the queue (reset). Jobs being processed can't be removed; they notice the new
 * generation at their next database write and stop.
 */
export async function removeRunJobs(queue: Queue, ref: CollaborationStepJobData): Promise<void> {
  // Parent first: removing it takes its waiting children with it.
  for (const step of [...PIPELINE_JOB_STEPS].reverse()) {
    const job = await queue.getJob(stepJobId(ref, step));
    if (!job) continue;
    await job.remove({ removeChildren: true }).catch(() => undefined);
  }
}

/** Which end of which pipeline an expiry job carries out; a job for an older end (extended since) or generation does nothing. */
export interface CollaborationExpiryJobData {
  pipelineId: string;
  generation: number;
  expiryVersion: number;
}

/** `collab-expire-{pipelineId}-g{generation}-e{expiryVersion}`: one job per end, however often the sweep finds it due. */
export function expiryJobId(ref: CollaborationExpiryJobData): string {
  return jobId('collab', 'expire', ref.pipelineId, `g${ref.generation}`, `e${ref.expiryVersion}`);
}

/** Adds the expiry job unless it is already in Redis (waiting, delayed, running, done or failed). */
export async function ensureExpiryQueued(queue: Queue, ref: CollaborationExpiryJobData): Promise<boolean> {
  const id = expiryJobId(ref);
  if (await queue.getJob(id)) return false;
  const data: CollaborationExpiryJobData = {
    pipelineId: ref.pipelineId,
    generation: ref.generation,
    expiryVersion: ref.expiryVersion,
  };
  // The queue's default options (retries, retention) apply to what is added to it.
  await queue.add(CollaborationJob.Expire, data, { jobId: id });
  return true;
}
