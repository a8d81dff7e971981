import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { AccountsService } from './accounts.service';
import { AccountApiController, AdminUsersApiController } from './accounts-api.controller';
import { AdminUsersController } from './admin-users.controller';
import { ApiTokensService } from './api-tokens.service';
import { AuthController } from './auth.controller';
import { ApiToken } from './entities/api-token.entity';
import { User } from './entities/user.entity';
import { AuthGuard } from './guards/auth.guard';
import { SessionsService } from './sessions.service';
import { SettingsController } from './settings.controller';
import { SettingsSections } from './settings-sections';
import { SetupController } from './setup.controller';
import { UsersService } from './users.service';

@Module({
  imports: [MikroOrmModule.forFeature([User, ApiToken])],
  controllers: [
    AuthController,
    SetupController,
    SettingsController,
    AdminUsersController,
    AccountApiController,
    AdminUsersApiController,
  ],
  providers: [UsersService, ApiTokensService, SessionsService, AccountsService, AuthGuard, SettingsSections],
  exports: [AccountsService, UsersService, AuthGuard, SessionsService, SettingsSections],
})
export class AccountsModule {}
