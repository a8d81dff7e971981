import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { BodyDepthMiddleware } from './body-depth';
import { CsrfGuard, CsrfService } from './csrf';
import { NotFoundLimiter } from './not-found-limiter';

@Global()
@Module({ providers: [CsrfService, CsrfGuard, NotFoundLimiter], exports: [CsrfService, CsrfGuard, NotFoundLimiter] })
export class HttpCommonModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(BodyDepthMiddleware).forRoutes('*');
  }
}
