import { Global, Module } from '@nestjs/common';
import { CsrfGuard, CsrfService } from './csrf';
import { NotFoundLimiter } from './not-found-limiter';

@Global()
@Module({ providers: [CsrfService, CsrfGuard, NotFoundLimiter], exports: [CsrfService, CsrfGuard, NotFoundLimiter] })
export class HttpCommonModule {}
