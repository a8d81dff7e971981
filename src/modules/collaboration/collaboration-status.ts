import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import type { Track } from '../files/entities/track.entity';
import type { CollaboratorView } from '../files/views';
import { CollaborationClock } from './collaboration-clock';
import { CollaborationTimings } from './collaboration-timings';
import { CollaborationView, toCollaborationView } from './collaboration.views';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipelineRepository } from './repositories/collab-pipeline.repository';

/** The collaboration panel of a track as it is now: the pipeline, its files and members, and who is on the track. */
@Injectable()
export class CollaborationStatus {
  constructor(
    private readonly db: DbContext,
    private readonly pipelines: CollabPipelineRepository,
    @InjectRepository(CollabFile) private readonly files: EntityRepository<CollabFile>,
    @InjectRepository(CollabMember) private readonly members: EntityRepository<CollabMember>,
    private readonly clock: CollaborationClock,
    private readonly timings: CollaborationTimings,
  ) {}

  async view(track: Track, onTrack: CollaboratorView[]): Promise<CollaborationView> {
    // Read in a context of its own: the rows as they are now, not as the request (or a job's write) loaded them.
    const { pipeline, files, members } = await this.db.run(async () => {
      const pipeline = await this.pipelines.findOne({ track: track.id });
      const [files, members] = pipeline
        ? await Promise.all([
            this.files.find({ pipeline }, { orderBy: { targetPath: 'asc' } }),
            this.members.find({ pipeline }, { orderBy: { name: 'asc' } }),
          ])
        : [[], []];
      return { pipeline, files, members };
    });
    return toCollaborationView({
      track,
      pipeline,
      files,
      members,
      onTrack,
      stuckMs: this.timings.stuckMs,
      now: this.clock.now(),
    });
  }
}
