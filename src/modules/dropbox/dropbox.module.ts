import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { ConnectionChanges } from './connection-changes';
import { DropboxGateway } from './dropbox.gateway';
import { DropboxConnectionsService } from './dropbox-connections.service';
import { DropboxOAuthClient } from './dropbox-oauth.client';
import { DropboxSettingsController } from './dropbox-settings.controller';
import { DropboxTokensService } from './dropbox-tokens.service';
import { DropboxConnection } from './entities/dropbox-connection.entity';
import { TemporaryLinksService } from './temporary-links.service';

@Module({
  imports: [MikroOrmModule.forFeature([DropboxConnection])],
  controllers: [DropboxSettingsController],
  providers: [ConnectionChanges, DropboxOAuthClient, DropboxTokensService, DropboxGateway, DropboxConnectionsService, TemporaryLinksService],
  exports: [ConnectionChanges, DropboxConnectionsService, DropboxGateway, TemporaryLinksService],
})
export class DropboxModule {}
