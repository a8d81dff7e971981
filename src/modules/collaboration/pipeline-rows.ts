import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { firstFreeName } from '../../common/free-names';
import { CollaborationStepJobData } from '../../queues/flows';
import type { TrackFile } from '../files/entities/track-file.entity';
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
 * The pipeline's rows as the producer's actions build them: the files to copy and the members to invite. Called
 * inside the action's transaction (DbContext.transaction), which the repositories take part in by themselves.
 */
@Injectable()
export class PipelineRows {
  constructor(
    @InjectRepository(CollabFile) private readonly files: EntityRepository<CollabFile>,
    @InjectRepository(CollabMember) private readonly members: EntityRepository<CollabMember>,
  ) {}

  /**
   * New files become pending copies with a fixed target (`Stems/kick.wav`); a name taken by another file gets " (2)".
   * A file of a category whose downloads are off is recorded as left out (unless the share puts such files in).
   */
  async addFiles(pipeline: CollabPipeline, files: TrackFile[]): Promise<void> {
    const downloads = downloadsOf(pipeline);
    if (!files.length) return;
    const existing = await this.files.find({ pipeline });
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
      this.files.create({
        pipeline,
        trackFile: file.id,
        sourceId: file.dropboxId,
        name: file.name,
        contentHash: file.contentHash ?? null,
        size: file.size,
        isPackage: file.isPackage,
        targetPath: target,
        ...(leftOut ? { status: 'skipped' as const, leftOut: true, error: leftOut } : {}),
      });
    }
  }

  /**
   * Brings member rows in line with the track's collaborators: newcomers are queued (or marked "no email"),
   * a changed email is picked up unless the person already has access, and with `requeueFailed` refused
   * people are tried again.
   */
  async syncMembers(pipeline: CollabPipeline, onTrack: CollaboratorView[], requeueFailed: boolean): Promise<void> {
    const rows = await this.members.find({ pipeline });
    const byCollaborator = new Map(rows.map((r) => [r.collaborator.id, r]));
    for (const person of onTrack) {
      const email = person.email?.toLowerCase() ?? null;
      const row = byCollaborator.get(person.id);
      if (!row) {
        this.members.create({
          pipeline,
          collaborator: person.id,
          name: person.name,
          email,
          state: email ? 'queued' : 'no_email',
        });
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
