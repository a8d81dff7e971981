import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { DynamicModule, Global, Injectable, Module, OnModuleInit, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Tuning, TUNING } from '../config/tuning';
import { FilesModule } from '../modules/files/files.module';
import { ShareModule } from '../modules/share/share.module';
import { FilesProcessor } from './processors/files.processor';
import { CollaborationModule } from '../modules/collaboration/collaboration.module';
import { CollaborationProcessor } from './processors/collaboration.processor';
import { ShareProcessor } from './processors/share.processor';
import { MediaModule } from '../modules/media/media.module';
import { MediaProcessor } from './processors/media.processor';
import { NotificationsModule } from '../modules/notifications/notifications.module';
import { NotificationsProcessor } from './processors/notifications.processor';
import { ALL_QUEUES, jobOptions } from '../queues/queues';
import { bullConnection } from './redis-connection';
import { SpoolHostWorker } from './spool-host.worker';
import { reportConnectionErrors } from '../queues/connection-errors';

/** Listens for the queues' connection errors (see reportConnectionErrors). */
@Injectable()
class QueueErrorsReporter implements OnModuleInit {
  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    for (const name of ALL_QUEUES)
      reportConnectionErrors(this.moduleRef.get<Queue>(getQueueToken(name), { strict: false }), `queue ${name}`);
  }
}

/** The queues, available everywhere for enqueueing (web and workers alike). */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG, TUNING],
      useFactory: (config: AppConfig, tuning: Tuning) => ({
        connection: bullConnection(config),
        prefix: `${config.redis.prefix}-bull`,
        defaultJobOptions: jobOptions(tuning.jobs),
      }),
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  providers: [QueueErrorsReporter],
  exports: [BullModule],
})
export class QueuesModule {}

/** Every processor; each is a thin class that calls one service method of its module. */
export const PROCESSORS: Provider[] = [
  CollaborationProcessor,
  FilesProcessor,
  MediaProcessor,
  NotificationsProcessor,
  ShareProcessor,
];

export interface JobsModuleOptions {
  /** Run processors in this process (web with WORKERS=on, and worker.ts). */
  workers: boolean;
}

@Module({})
export class JobsModule {
  static register(options: JobsModuleOptions): DynamicModule {
    return {
      module: JobsModule,
      imports: [QueuesModule, CollaborationModule, FilesModule, MediaModule, NotificationsModule, ShareModule],
      // The spool host's own uploads run in every process of that host, web included (see SpoolHostWorker).
      providers: [...(options.workers ? PROCESSORS : []), SpoolHostWorker],
    };
  }
}
