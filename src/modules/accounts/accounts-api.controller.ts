import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AccountsService } from './accounts.service';
import { ApiTokensService } from './api-tokens.service';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser, RequireRole } from './decorators';
import { CreateTokenDto, CreateUserDto, UpdateUserDto } from './dto/account.dto';

@ApiTags('account')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1')
export class AccountApiController {
  constructor(private readonly tokens: ApiTokensService) {}

  @ApiOperation({ summary: 'The signed-in user' })
  @Get('me')
  me(@CurrentUser() user: AuthenticatedUser) {
    return { id: user.id, email: user.email, name: user.name, role: user.role };
  }

  @ApiOperation({ summary: 'Personal access tokens of the signed-in user' })
  @Get('tokens')
  listTokens(@CurrentUser() user: AuthenticatedUser) {
    return this.tokens.list(user.id);
  }

  @ApiOperation({
    summary:
      'Create a personal access token (read-only or full, optionally expiring); the secret is returned once. Signed-in sessions only: a token cannot create tokens',
  })
  @Post('tokens')
  createToken(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateTokenDto) {
    // A leaked token must not be able to outlive its revocation by minting a successor.
    if (user.via === 'token')
      throw new ForbiddenException(
        'access tokens cannot create tokens: create them in Settings or with a signed-in session',
      );
    return this.tokens.create(user.id, dto.name, { scope: dto.scope, expiresInDays: dto.expiresInDays });
  }

  @ApiOperation({ summary: 'Revoke a personal access token' })
  @Delete('tokens/:id')
  @HttpCode(204)
  async revokeToken(@CurrentUser() user: AuthenticatedUser, @Param('id', new ParseUUIDPipe()) id: string) {
    await this.tokens.revoke(user.id, id);
  }
}

@ApiTags('admin')
@ApiBearerAuth()
@ApiCookieAuth()
@RequireRole('admin')
@Controller('api/v1/admin/users')
export class AdminUsersApiController {
  constructor(private readonly accounts: AccountsService) {}

  @ApiOperation({ summary: 'Every account of the studio (admins only)' })
  @Get()
  list() {
    return this.accounts.listUsers();
  }

  @ApiOperation({ summary: 'Create an account (admins only)' })
  @Post()
  create(@Body() dto: CreateUserDto) {
    return this.accounts.createUser(dto);
  }

  @ApiOperation({ summary: 'Disable or enable an account (admins only)' })
  @Patch(':id')
  update(
    @CurrentUser() actor: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() dto: UpdateUserDto,
  ) {
    return this.accounts.setDisabled(actor.id, id, dto.disabled);
  }
}
