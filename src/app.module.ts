import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { LoggerModule } from 'nestjs-pino';
import { createHash } from 'node:crypto';
import { CsrfGuard } from './common/http/csrf';
import { HttpCommonModule } from './common/http/http-common.module';
import { HttpExceptionFilter } from './common/http/http-exception.filter';
import { RedisThrottlerStorage } from './common/http/throttler-storage';
import { loggerParams } from './common/logging';
import { RedisModule, RedisService } from './common/redis/redis.module';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/db-context';
import { mikroOrmOptions } from './database/mikro-orm.config';
import type { TuningOverrides } from './config/tuning';
import { JobsModule } from './jobs/jobs.module';
import { AccountsModule } from './modules/accounts/accounts.module';
import { AuthGuard } from './modules/accounts/guards/auth.guard';
import { DashboardModule } from './modules/dashboard/dashboard.module';
import { DropboxModule } from './modules/dropbox/dropbox.module';
import { FilesModule } from './modules/files/files.module';
import { CollaborationModule } from './modules/collaboration/collaboration.module';
import { MediaModule } from './modules/media/media.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import { NotificationsModule } from './modules/notifications/notifications.module';
import { ShareModule } from './modules/share/share.module';
import { CryptoModule } from './common/crypto/crypto.module';
import { HealthModule } from './modules/health/health.module';

export interface AppModuleOptions {
  config: AppConfig;
  /** Run queue processors in this process. */
  workers: boolean;
  /** Shorter internal timings for tests; production never sets this. */
  tuning?: TuningOverrides;
}

@Module({})
export class AppModule {
  static register({ config, workers, tuning }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, tuning),
        LoggerModule.forRoot(loggerParams(config)),
        MikroOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (cfg: AppConfig) => ({
            ...mikroOrmOptions(cfg.database.url, { poolMax: cfg.database.poolMax }),
            registerRequestContext: true,
          }),
          driver: PostgreSqlDriver,
        }),
        DatabaseModule,
        RedisModule,
        CryptoModule,
        ThrottlerModule.forRootAsync({
          inject: [RedisService],
          useFactory: (redis: RedisService) => ({
            // A generous ceiling for every route; sign-in, setup and public share routes set tighter ones.
            throttlers: [{ name: 'default', ttl: 60_000, limit: 600 }],
            storage: new RedisThrottlerStorage(redis.client),
            // Keys live under this installation's prefix, like every other key.
            generateKey: (context, tracker, throttlerName) =>
              redis.key(
                'throttle',
                createHash('sha256')
                  .update(`${context.getClass().name}.${context.getHandler().name}.${throttlerName}.${tracker}`)
                  .digest('base64url'),
              ),
          }),
        }),
        JobsModule.register({ workers }),
        HttpCommonModule,
        AccountsModule,
        HealthModule,
        DropboxModule,
        FilesModule,
        CollaborationModule,
        MediaModule,
        MetricsModule,
        NotificationsModule,
        ShareModule,
        DashboardModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ThrottlerGuard },
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
