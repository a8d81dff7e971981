import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AccountsModule } from '../accounts/accounts.module';
import { AccountsService } from '../accounts/accounts.service';
import { DropboxModule } from '../dropbox/dropbox.module';
import { AdminSharesController } from './admin-shares.controller';
import { FilesModule } from '../files/files.module';
import { MediaModule } from '../media/media.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { Share } from './entities/share.entity';
import { ShareAccessRequest } from './entities/share-access-request.entity';
import { ShareComment } from './entities/share-comment.entity';
import { ShareFile } from './entities/share-file.entity';
import { ShareCommentsController } from './share-comments.controller';
import { ShareCommentsOwnerController } from './share-comments-owner.controller';
import { ShareCommentsService } from './share-comments.service';
import { ShareExtendController, ShareMoreTimeController } from './share-expiry.controller';
import { ShareExpiryService } from './share-expiry.service';
import { ShareTrack } from './entities/share-track.entity';
import { ShareRecipient } from './entities/share-recipient.entity';
import { ShareListensService } from './share-listens.service';
import { ShareListensApiController } from './share-listens-api.controller';
import { ShareRecipientsApiController } from './share-recipients-api.controller';
import { ShareRecipientsService } from './share-recipients.service';
import { ShareAccessGuard } from './share-access.guard';
import { ShareAccessService } from './share-access.service';
import { ShareClock } from './share-clock';
import { ShareContentsService } from './share-contents.service';
import { ShareFilesService } from './share-files.service';
import { ShareLinksController } from './share-links.controller';
import { SharePageService } from './share-page.service';
import { ShareStatsService } from './share-stats.service';
import { ShareTuning } from './share-tuning';
import { SharesApiController } from './shares-api.controller';
import { SharesController } from './shares.controller';
import { SharesService } from './shares.service';
import { ZipSlots } from './zip-slots';

@Module({
  imports: [
    MikroOrmModule.forFeature([Share, ShareTrack, ShareFile, ShareRecipient, ShareComment, ShareAccessRequest]),
    AccountsModule,
    DropboxModule,
    FilesModule,
    MediaModule,
    NotificationsModule,
  ],
  controllers: [
    ShareLinksController,
    ShareCommentsController,
    ShareCommentsOwnerController,
    ShareMoreTimeController,
    ShareExtendController,
    SharesController,
    SharesApiController,
    ShareRecipientsApiController,
    ShareListensApiController,
    AdminSharesController,
  ],
  providers: [
    ShareCommentsService,
    ShareExpiryService,
    ShareTuning,
    ShareClock,
    ShareAccessService,
    ShareContentsService,
    ShareAccessGuard,
    SharePageService,
    ShareFilesService,
    ShareStatsService,
    ShareListensService,
    ShareRecipientsService,
    SharesService,
    ZipSlots,
  ],
  exports: [SharesService, ShareStatsService, ShareTuning, ShareExpiryService],
})
export class ShareModule implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly tuning: ShareTuning,
    private readonly accounts: AccountsService,
    private readonly access: ShareAccessService,
  ) {}

  onModuleInit(): void {
    // Rate limits are resolved per request from this instance (see share-limits.ts). A worker has no HTTP server.
    const instance = this.adapter.httpAdapter?.getInstance?.() as { locals?: Record<string, unknown> } | undefined;
    if (instance?.locals) instance.locals.shareTuning = this.tuning;
    // A disabled producer's links stop at once, on every route; enabling the account restores them.
    this.accounts.onStatusChange((userId) => this.access.publishOwner(userId));
  }
}
