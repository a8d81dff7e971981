import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { SettingsSections } from '../accounts/settings-sections';
import { EmailDigestService } from './email-digest.service';
import { NotificationSettings } from './entities/notification-settings.entity';
import { WebhookDelivery } from './entities/webhook-delivery.entity';
import { Webhook } from './entities/webhook.entity';
import { NotificationEvents } from './notification-events';
import { NotificationsSettingsController } from './notifications-settings.controller';
import { NotificationsService } from './notifications.service';
import { WebhooksApiController } from './webhooks-api.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Producer email and webhooks. Other modules publish events through {@link NotificationEvents}; this module imports
 * none of them (only accounts, for the producer's address and the Settings page).
 */
@Module({
  imports: [MikroOrmModule.forFeature([Webhook, WebhookDelivery, NotificationSettings]), AccountsModule],
  controllers: [WebhooksApiController, NotificationsSettingsController],
  providers: [NotificationEvents, WebhooksService, EmailDigestService, NotificationsService],
  exports: [NotificationEvents, NotificationsService, WebhooksService, EmailDigestService],
})
export class NotificationsModule implements OnModuleInit {
  constructor(
    private readonly sections: SettingsSections,
    private readonly notifications: NotificationsService,
  ) {}

  onModuleInit(): void {
    this.sections.add((userId) => this.notifications.settingsModel(userId));
  }
}
