import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { ListenReport, ShareListensService } from './share-listens.service';

const uuid = new ParseUUIDPipe();

@ApiTags('shares')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/shares/:id/listens')
export class ShareListensApiController {
  constructor(private readonly listens: ShareListensService) {}

  @ApiOperation({
    summary: 'Listening statistics of a share, per track, per file and per recipient link',
    description:
      'A listen is a play session that heard ≥ 30 s or half of the file. Per track, per file and per link: sessions, plays, ' +
      'listenedSeconds, averageShare (0–1, per session) and stops (sessions that stopped in each tenth of the file). ' +
      'Updated by the counters flush (every 30 s by default).',
  })
  @Get()
  report(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<ListenReport> {
    return this.listens.report(user.id, id);
  }
}
