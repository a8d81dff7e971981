import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { BodyChecksMiddleware } from './body-checks';
import { CsrfGuard, CsrfService } from './csrf';
import { NotFoundLimiter } from './not-found-limiter';

@Global()
@Module({ providers: [CsrfService, CsrfGuard, NotFoundLimiter], exports: [CsrfService, CsrfGuard, NotFoundLimiter] })
export class HttpCommonModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(BodyChecksMiddleware).forRoutes('*');
  }
}
