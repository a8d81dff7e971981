import { EntityManager, LockMode } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { firstFreeName } from '../../common/free-names';
import { CollaborationStepJobData } from '../../queues/flows';
import { Collaborator } from '../files/entities/collaborator.entity';
import { TrackFile } from '../files/entities/track-file.entity';
import { CATEGORY_FOLDERS } from '../files/file-categories';
import type { CollaboratorView } from '../files/views';
import { downloadsOf, leftOutReason } from './collab-settings';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';

/** A new run of the pipeline, from its first step; the job data that names it. */
export function beginRun(pipeline: CollabPipeline): CollaborationStepJobData {
  pipeline.run += 1;
  pipeline.status = 'running';
  pipeline.step = 'folder';
  pipeline.rerunRequested = false;
  pipeline.errorCode = null;
  pipeline.errorMessage = null;
  pipeline.startedAt = new Date();
  pipeline.progressAt = new Date();
  pipeline.finishedAt = null;
  return { pipelineId: pipeline.id, generation: pipeline.generation, run: pipeline.run };
}

/**
 * The pipeline's rows as the producer's actions build them, inside their transaction: the locked pipeline row, the
 * files to copy and the members to invite.
 */
@Injectable()
export class PipelineRows {
  /** The track's pipeline row, locked for this transaction (created on first use when `create`). */
  async locked(em: EntityManager, trackId: string, create: true): Promise<CollabPipeline>;
  async locked(em: EntityManager, trackId: string, create: false): Promise<CollabPipeline | null>;
  async locked(em: EntityManager, trackId: string, create: boolean): Promise<CollabPipeline | null> {
    if (create) {
      // Two first clicks at once create one row: the unique track id decides.
      await em.execute('insert into collab_pipelines (id, track_id) values (?, ?) on conflict (track_id) do nothing', [
        randomUUID(),
        trackId,
      ]);
    }
    return em.findOne(CollabPipeline, { track: trackId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  /**
   * New files become pending copies with a fixed target (`Stems/kick.wav`); a name taken by another file gets " (2)".
   * A file of a category whose downloads are off is recorded as left out (unless the share puts such files in).
   */
  async addFiles(em: EntityManager, pipeline: CollabPipeline, files: TrackFile[]): Promise<void> {
    const downloads = downloadsOf(pipeline);
    if (!files.length) return;
    const existing = await em.find(CollabFile, { pipeline });
    const bySource = new Map(existing.map((f) => [f.sourceId, f]));
    const taken = new Set(existing.map((f) => f.targetPath.toLowerCase()));
    for (const file of files) {
      const known = bySource.get(file.dropboxId);
      const leftOut = leftOutReason(file, downloads, pipeline.includeDisabled);
      if (known) {
        if (known.status === 'skipped' && !known.leftOut) {
          known.status = 'pending';
          known.error = null;
        }
        continue;
      }
      const folder = CATEGORY_FOLDERS[file.category];
      // Every name taken so far, plus one: a free name is always among them.
      const target = firstFreeName(`${folder}/${file.name}`, (name) => taken.has(name), taken.size + 1)!;
      taken.add(target.toLowerCase());
      em.persist(
        em.create(CollabFile, {
          pipeline,
          trackFile: em.getReference(TrackFile, file.id),
          sourceId: file.dropboxId,
          name: file.name,
          contentHash: file.contentHash ?? null,
          size: file.size,
          isPackage: file.isPackage,
          targetPath: target,
          ...(leftOut ? { status: 'skipped' as const, leftOut: true, error: leftOut } : {}),
        }),
      );
    }
  }

  /**
   * Brings member rows in line with the track's collaborators: newcomers are queued (or marked "no email"),
   * a changed email is picked up unless the person already has access, and with `requeueFailed` refused
   * people are tried again.
   */
  async syncMembers(
    em: EntityManager,
    pipeline: CollabPipeline,
    onTrack: CollaboratorView[],
    requeueFailed: boolean,
  ): Promise<void> {
    const rows = await em.find(CollabMember, { pipeline });
    const byCollaborator = new Map(rows.map((r) => [r.collaborator.id, r]));
    for (const person of onTrack) {
      const email = person.email?.toLowerCase() ?? null;
      const row = byCollaborator.get(person.id);
      if (!row) {
        em.persist(
          em.create(CollabMember, {
            pipeline,
            collaborator: em.getReference(Collaborator, person.id),
            name: person.name,
            email,
            state: email ? 'queued' : 'no_email',
          }),
        );
        continue;
      }
      row.name = person.name;
      const changed = row.email !== email;
      if (
        row.state === 'no_email' ||
        (row.state === 'failed' && (requeueFailed || changed)) ||
        row.state === 'queued'
      ) {
        row.email = email;
        row.state = email ? 'queued' : 'no_email';
        row.error = null;
        row.updatedAt = new Date();
      }
    }
  }
}
