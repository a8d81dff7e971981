import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CreateShareDto, UpdateShareDto } from './dto/share.dto';
import { SharesService } from './shares.service';

const uuid = new ParseUUIDPipe();

@ApiTags('shares')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/shares')
export class SharesApiController {
  constructor(private readonly shares: SharesService) {}

  @ApiOperation({ summary: 'Your share links with their status and counters' })
  @Get()
  list(@CurrentUser() user: AuthenticatedUser) {
    return this.shares.list(user.id);
  }

  @ApiOperation({ summary: 'Create a share link (files not yet imported are imported); needs a connected Dropbox' })
  @Post()
  create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateShareDto) {
    return this.shares.create(user.id, dto);
  }

  @ApiOperation({ summary: 'One share link' })
  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.shares.get(user.id, id);
  }

  @ApiOperation({ summary: 'Change title, message, password, expiry or permissions; the URL stays the same' })
  @Patch(':id')
  update(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() dto: UpdateShareDto) {
    return this.shares.update(user.id, id, dto);
  }

  @ApiOperation({ summary: 'Disable the link at once' })
  @Post(':id/revoke')
  @HttpCode(200)
  revoke(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.shares.revoke(user.id, id);
  }
}
