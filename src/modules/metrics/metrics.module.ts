import { Global, Module } from '@nestjs/common';
import { DropboxModule } from '../dropbox/dropbox.module';
import { MetricsService } from './metrics.service';

/** Prometheus figures; global so processors anywhere can record step durations. Served by `mountMetrics`. */
@Global()
@Module({
  imports: [DropboxModule],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
