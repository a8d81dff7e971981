import { EntityManager } from '@mikro-orm/postgresql';
import type { INestApplicationContext } from '@nestjs/common';
import { CollabPipeline } from '../../../../src/modules/collaboration/entities/collab-pipeline.entity';
import { Upload } from '../../../../src/modules/files/entities/upload.entity';
import { say } from '../../harness';

/** How the uploads and pipelines started during the soak ended, by status. */
export interface Drained {
  uploadStates: Record<string, number>;
  pipelineStates: Record<string, number>;
  uploadsDone: number;
  pipelinesDone: number;
}

/** Waits, at most `ms`, until every started upload and pipeline is done or failed. */
export async function drain(
  app: INestApplicationContext,
  startedUploads: string[],
  startedPipelines: string[],
  ms: number,
): Promise<Drained> {
  say(`soak: waiting for ${startedUploads.length} uploads and ${startedPipelines.length} pipelines to finish…`);
  const drainDeadline = Date.now() + ms;
  let uploadsDone = 0;
  let uploadsFailed = 0;
  let pipelinesDone = 0;
  let pipelinesFailed = 0;
  // Read from the database by id: the API lists only the latest 200 uploads of a track.
  const countBy = (rows: Array<{ status: string }>) =>
    rows.reduce<Record<string, number>>((acc, row) => ({ ...acc, [row.status]: (acc[row.status] ?? 0) + 1 }), {});
  let uploadStates: Record<string, number> = {};
  let pipelineStates: Record<string, number> = {};
  for (;;) {
    const db = app.get(EntityManager).fork();
    uploadStates = countBy(await db.find(Upload, { id: { $in: startedUploads } }, { fields: ['status'] }));
    pipelineStates = countBy(
      await db.find(CollabPipeline, { track: { $in: startedPipelines } }, { fields: ['status'] }),
    );
    uploadsDone = uploadStates.done ?? 0;
    uploadsFailed = uploadStates.failed ?? 0;
    pipelinesDone = pipelineStates.done ?? 0;
    pipelinesFailed = pipelineStates.failed ?? 0;
    const settled =
      uploadsDone + uploadsFailed === startedUploads.length &&
      pipelinesDone + pipelinesFailed === startedPipelines.length;
    if (settled || Date.now() > drainDeadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  say(`soak: uploads ${JSON.stringify(uploadStates)}, pipelines ${JSON.stringify(pipelineStates)}`);
  return { uploadStates, pipelineStates, uploadsDone, pipelinesDone };
}
