import { MikroORM } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import type { Track } from '../files/entities/track.entity';
import type { CollaboratorView } from '../files/views';
import { CollaborationClock } from './collaboration-clock';
import { CollaborationView, toCollaborationView } from './collaboration.views';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';

/** The collaboration panel of a track as it is now: the pipeline, its files and members, and who is on the track. */
@Injectable()
export class CollaborationStatus {
  constructor(
    private readonly orm: MikroORM,
    private readonly clock: CollaborationClock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async view(track: Track, onTrack: CollaboratorView[]): Promise<CollaborationView> {
    const em = this.orm.em.fork();
    const pipeline = await em.findOne(CollabPipeline, { track: track.id });
    const [files, members] = pipeline
      ? await Promise.all([
          em.find(CollabFile, { pipeline }, { orderBy: { targetPath: 'asc' } }),
          em.find(CollabMember, { pipeline }, { orderBy: { name: 'asc' } }),
        ])
      : [[], []];
    return toCollaborationView({
      track,
      pipeline,
      files,
      members,
      onTrack,
      stuckMs: this.config.collaboration.stuckMs,
      now: this.clock.now(),
    });
  }
}
