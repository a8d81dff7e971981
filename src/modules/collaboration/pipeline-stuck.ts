import type { CollabPipeline } from './entities/collab-pipeline.entity';

/**
 * "Stuck": a running pipeline whose last step moved longer than COLLAB_STUCK_SECONDS ago. One rule for the status
 * panel, for Retry (which may take over a stuck run) and for the share's end (which stops a stuck run). Measured on
 * the wall clock, not the collaboration clock: progress is written with the wall clock.
 */
export function isStuck(
  pipeline: Pick<CollabPipeline, 'status' | 'progressAt'> | null | undefined,
  stuckMs: number,
  now: Date = new Date(),
): boolean {
  return (
    pipeline?.status === 'running' && !!pipeline.progressAt && now.getTime() - pipeline.progressAt.getTime() > stuckMs
  );
}
