import { Injectable } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { CollaborationStepJobData } from '../../queues/flows';
import { CollabPipeline } from './entities/collab-pipeline.entity';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';

/** The job's run is no longer the pipeline's (reset or a newer run): it must not touch anything. */
export class Superseded extends Error {}

/**
 * The fence every pipeline step writes through: a job's writes land only while its generation and run are the
 * pipeline's, so a job of a reset or superseded run changes nothing.
 */
@Injectable()
export class PipelineFence {
  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
  ) {}

  /** The pipeline as the job's run sees it (read as it is now); Superseded when that run is over. */
  async current(ref: CollaborationStepJobData): Promise<CollabPipeline> {
    const pipeline = await this.db.run(() => this.pipelines.findOne({ id: ref.pipelineId }));
    if (!pipeline || pipeline.generation !== ref.generation || pipeline.run !== ref.run) throw new Superseded();
    return pipeline;
  }

  /**
   * Applies a change to the pipeline (and its rows, through the module's repositories: they take part in the
   * transaction) only if the job's generation and run are still current, holding the row lock so a concurrent reset
   * or start waits for it (or it waits for them).
   */
  async fenced<T>(ref: CollaborationStepJobData, change: (p: CollabPipeline) => T | Promise<T>): Promise<T> {
    return this.db.freshTransaction(async () => {
      const p = await this.pipelines.lockedById(ref.pipelineId);
      if (!p || p.generation !== ref.generation || p.run !== ref.run) throw new Superseded();
      return change(p);
    });
  }
}
