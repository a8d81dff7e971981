import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CreateWebhookDto } from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

const uuid = new ParseUUIDPipe();

@ApiTags('webhooks')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/webhooks')
export class WebhooksApiController {
  constructor(private readonly webhooks: WebhooksService) {}

  @ApiOperation({ summary: 'Add a webhook; the answer holds its signing secret, shown this once' })
  @Post()
  create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateWebhookDto) {
    return this.webhooks.create(user.id, dto);
  }

  @ApiOperation({ summary: 'Your webhooks (without secrets)' })
  @Get()
  async list(@CurrentUser() user: AuthenticatedUser) {
    return { items: await this.webhooks.list(user.id) };
  }

  @ApiOperation({ summary: 'One webhook with its recent deliveries (the last 50 tries)' })
  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.webhooks.get(user.id, id);
  }

  @ApiOperation({ summary: 'Remove a webhook; nothing more is sent to it' })
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<void> {
    await this.webhooks.remove(user.id, id);
  }
}
