import { Global, Module } from '@nestjs/common';
import { CsrfGuard, CsrfService } from './csrf';
import { ViewLocalsInterceptor } from './view-locals.interceptor';

@Global()
@Module({ providers: [CsrfService, CsrfGuard, ViewLocalsInterceptor], exports: [CsrfService, CsrfGuard, ViewLocalsInterceptor] })
export class HttpCommonModule {}
