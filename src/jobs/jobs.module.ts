import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ALL_QUEUES, DEFAULT_JOB_OPTIONS } from './queues';
import { bullConnection } from './redis-connection';

export interface JobsModuleOptions {
  /** Run processors in this process (web with WORKERS=on, and worker.ts). Queues are always available to enqueue. */
  workers: boolean;
}

/** Processors are added here by the features that own them; each is a thin class that calls one service method. */
const PROCESSORS: Provider[] = [];

@Module({})
export class JobsModule {
  static register(options: JobsModuleOptions): DynamicModule {
    return {
      module: JobsModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            connection: bullConnection(config),
            prefix: `${config.redis.prefix}-bull`,
            defaultJobOptions: DEFAULT_JOB_OPTIONS,
          }),
        }),
        BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
      ],
      providers: options.workers ? PROCESSORS : [],
      exports: [BullModule],
    };
  }
}
