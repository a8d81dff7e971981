import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module, OnModuleInit } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { SettingsSections } from '../accounts/settings-sections';
import { ConnectionChanges } from './connection-changes';
import { DropboxGateway } from './dropbox.gateway';
import { DropboxConnectionsService } from './dropbox-connections.service';
import { DropboxOAuthClient } from './dropbox-oauth.client';
import { DropboxSettingsController } from './dropbox-settings.controller';
import { DropboxTokensService } from './dropbox-tokens.service';
import { DropboxConnection } from './entities/dropbox-connection.entity';
import { TemporaryLinksService } from './temporary-links.service';

@Module({
  imports: [MikroOrmModule.forFeature([DropboxConnection]), AccountsModule],
  controllers: [DropboxSettingsController],
  providers: [
    ConnectionChanges,
    DropboxOAuthClient,
    DropboxTokensService,
    DropboxGateway,
    DropboxConnectionsService,
    TemporaryLinksService,
  ],
  exports: [ConnectionChanges, DropboxConnectionsService, DropboxGateway, TemporaryLinksService],
})
export class DropboxModule implements OnModuleInit {
  constructor(
    private readonly sections: SettingsSections,
    private readonly connections: DropboxConnectionsService,
  ) {}

  // The Settings page shows the connection; accounts renders the page without importing this module.
  onModuleInit(): void {
    this.sections.add(async (userId) => ({ dropbox: await this.connections.status(userId) }));
  }
}
