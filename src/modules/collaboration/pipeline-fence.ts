import { EntityManager, LockMode, MikroORM } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { CollaborationStepJobData } from '../../queues/flows';
import { CollabPipeline } from './entities/collab-pipeline.entity';

/** The job's run is no longer the pipeline's (reset or a newer run): it must not touch anything. */
export class Superseded extends Error {}

/**
 * The fence every pipeline step writes through: a job's writes land only while its generation and run are the
 * pipeline's, so a job of a reset or superseded run changes nothing.
 */
@Injectable()
export class PipelineFence {
  constructor(private readonly orm: MikroORM) {}

  /** The pipeline as the job's run sees it; Superseded when that run is over. */
  async current(ref: CollaborationStepJobData): Promise<CollabPipeline> {
    const pipeline = await this.orm.em.fork().findOne(CollabPipeline, { id: ref.pipelineId });
    if (!pipeline || pipeline.generation !== ref.generation || pipeline.run !== ref.run) throw new Superseded();
    return pipeline;
  }

  /**
   * Applies a change to the pipeline (and its rows) only if the job's generation and run are still current,
   * holding the row lock so a concurrent reset or start waits for it (or it waits for them).
   */
  async fenced<T>(
    ref: CollaborationStepJobData,
    change: (p: CollabPipeline, em: EntityManager) => T | Promise<T>,
  ): Promise<T> {
    return this.orm.em.fork().transactional(async (em) => {
      const p = await em.findOne(CollabPipeline, { id: ref.pipelineId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!p || p.generation !== ref.generation || p.run !== ref.run) throw new Superseded();
      return change(p, em);
    });
  }
}
