import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CreateRecipientDto } from './dto/share.dto';
import { RecipientView, ShareRecipientsService } from './share-recipients.service';

const uuid = new ParseUUIDPipe();

@ApiTags('shares')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/shares/:id/recipients')
export class ShareRecipientsApiController {
  constructor(private readonly recipients: ShareRecipientsService) {}

  @ApiOperation({
    summary: 'Give a recipient their own link to the share',
    description:
      'Same contents and permissions as the share; its own token, stats and revoke. 201 `{id, name, email, url, path, stats}`.',
  })
  @Post()
  create(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() dto: CreateRecipientDto,
  ): Promise<RecipientView> {
    return this.recipients.create(user.id, id, dto);
  }

  @ApiOperation({
    summary: "The share's recipients, each with their link and stats",
    description:
      'Stats: views, plays (listens of ≥ 30 s or half a file), listenedSeconds, downloads per category, lastAccessedAt.',
  })
  @Get()
  async list(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
  ): Promise<{ items: RecipientView[] }> {
    return { items: await this.recipients.list(user.id, id) };
  }

  @ApiOperation({ summary: "Disable one recipient's link at once (410 from then on); the share and other links go on" })
  @Post(':rid/revoke')
  @HttpCode(200)
  revoke(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('rid', uuid) rid: string,
  ): Promise<RecipientView> {
    return this.recipients.revoke(user.id, id, rid);
  }
}
