import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './app-config';
import { TUNING, tuningWith, TuningOverrides } from './tuning';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, tuning?: TuningOverrides): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: TUNING, useValue: tuningWith(tuning) },
      ],
      exports: [APP_CONFIG, TUNING],
    };
  }
}
