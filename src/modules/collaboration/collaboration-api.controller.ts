import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CollaborationService } from './collaboration.service';
import { CollaborationView } from './collaboration.views';
import { StartCollaborationDto, UpdateCollaborationDto } from './dto/start-collaboration.dto';

const uuid = new ParseUUIDPipe();

@ApiTags('collaboration')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/tracks/:id/collaboration')
export class CollaborationApiController {
  constructor(private readonly collaboration: CollaborationService) {}

  @ApiOperation({
    summary: 'Status of sharing the track with its collaborators: steps, counts, each collaborator’s access',
  })
  @Get()
  status(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.status(user.id, id);
  }

  @ApiOperation({
    summary: 'Start sharing (or share with remaining: new collaborators and newly selected files)',
    description:
      'accessLevel, expiry, downloads and disabledDownloads are the share’s settings, taken at the first start; later starts keep them.',
  })
  @Post()
  @HttpCode(202)
  start(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() dto: StartCollaborationDto,
  ): Promise<CollaborationView> {
    return this.collaboration.start(user.id, id, dto);
  }

  @ApiOperation({
    summary: 'Change when collaborators’ access ends: extend (a new end from now), never, or end it now',
  })
  @Patch()
  @HttpCode(200)
  update(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() dto: UpdateCollaborationDto,
  ): Promise<CollaborationView> {
    return this.collaboration.updateExpiry(user.id, id, dto.expiry);
  }

  @ApiOperation({ summary: 'Retry a failed or stuck pipeline from where it stopped' })
  @Post('retry')
  @HttpCode(202)
  retry(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.retry(user.id, id);
  }

  @ApiOperation({
    summary: 'Reset: stop and forget the pipeline (the Dropbox folder and its members stay as they are)',
  })
  @Post('reset')
  @HttpCode(200)
  reset(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.reset(user.id, id);
  }

  @ApiOperation({ summary: 'Refresh collaborators’ states (joined / invite pending) from Dropbox' })
  @Post('refresh')
  @HttpCode(200)
  refresh(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.refresh(user.id, id);
  }

  @ApiOperation({
    summary: 'Send an invitation again that is no longer pending (accepted under another address, or declined)',
  })
  @Post('members/:collaboratorId/reinvite')
  @HttpCode(202)
  reinvite(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
  ): Promise<CollaborationView> {
    return this.collaboration.reinvite(user.id, id, collaboratorId);
  }

  @ApiOperation({ summary: 'Remove a collaborator’s access to the shared folder' })
  @Delete('members/:collaboratorId')
  @HttpCode(200)
  removeAccess(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
  ): Promise<CollaborationView> {
    return this.collaboration.removeAccess(user.id, id, collaboratorId);
  }
}
