import { MikroOrmModule } from '@mikro-orm/nestjs';
import { BullModule, InjectFlowProducer } from '@nestjs/bullmq';
import type { FlowProducer } from 'bullmq';
import { Module } from '@nestjs/common';
import { reportConnectionErrors } from '../../queues/connection-errors';
import { DropboxModule } from '../dropbox/dropbox.module';
import { FilesModule } from '../files/files.module';
import { CollaborationApiController } from './collaboration-api.controller';
import { CollaborationController } from './collaboration.controller';
import { CollaborationClock } from './collaboration-clock';
import { CollaborationTimings } from './collaboration-timings';
import { CollaborationExpiryService } from './collaboration-expiry.service';
import { CollaborationStatus } from './collaboration-status';
import { CollaborationService } from './collaboration.service';
import { CollabFile } from './entities/collab-file.entity';
import { CollabMember } from './entities/collab-member.entity';
import { CollabPipeline } from './entities/collab-pipeline.entity';
import { PipelineFence } from './pipeline-fence';
import { PipelineInvites } from './pipeline-invites';
import { PipelineRows } from './pipeline-rows';
import { COLLAB_FLOW_PRODUCER, PipelineRunnerService } from './pipeline-runner.service';

@Module({
  imports: [
    MikroOrmModule.forFeature([CollabPipeline, CollabFile, CollabMember]),
    BullModule.registerFlowProducer({ name: COLLAB_FLOW_PRODUCER }),
    FilesModule,
    DropboxModule,
  ],
  controllers: [CollaborationController, CollaborationApiController],
  providers: [
    CollaborationService,
    CollaborationStatus,
    PipelineRows,
    PipelineRunnerService,
    PipelineFence,
    PipelineInvites,
    CollaborationExpiryService,
    CollaborationClock,
    CollaborationTimings,
  ],
  exports: [CollaborationService, PipelineRunnerService, CollaborationExpiryService, CollaborationTimings],
})
export class CollaborationModule {
  constructor(@InjectFlowProducer(COLLAB_FLOW_PRODUCER) flows: FlowProducer) {
    reportConnectionErrors(flows, `flow producer ${COLLAB_FLOW_PRODUCER}`);
  }
}
