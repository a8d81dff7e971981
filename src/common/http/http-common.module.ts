import { Global, Module } from '@nestjs/common';
import { CsrfGuard, CsrfService } from './csrf';

@Global()
@Module({ providers: [CsrfService, CsrfGuard], exports: [CsrfService, CsrfGuard] })
export class HttpCommonModule {}
