import { BadRequestException, Body, Controller, Get, Param, ParseUUIDPipe, Post, Render, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { validateForm } from '../../common/http/validation';
import { AuthenticatedUser } from '../accounts/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CollaborationService } from './collaboration.service';
import { CollaborationView } from './collaboration.views';
import { StartCollaborationDto } from './dto/start-collaboration.dto';

const uuid = new ParseUUIDPipe();

/** Without JavaScript the running panel reloads itself; with it, collaboration.js updates it in place. */
const NOSCRIPT_REFRESH = '<noscript><meta http-equiv="refresh" content="5"></noscript>';

type FormBody = Record<string, unknown>;

/**
 * The collaboration status panel and its forms. The Share tab's "Share Files with Collaborators" button posts its
 * whole form here (formaction): only `files` (and `accessLevel`) are read, the share-link fields are ignored.
 */
@ApiExcludeController()
@Controller('tracks/:id/collaboration')
export class CollaborationController {
  constructor(private readonly collaboration: CollaborationService) {}

  @Get()
  @Render('dashboard/collaboration')
  async page(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    const view = await this.collaboration.status(user.id, id);
    const live = view.status === 'running' || view.status === 'stuck';
    return {
      title: `Collaboration · ${view.trackTitle}`,
      nav: 'tracks',
      head: live ? NOSCRIPT_REFRESH : undefined,
      collab: view,
      live,
      stepsDone: view.status === 'done',
    };
  }

  /** The panel's state as JSON, polled by collaboration.js while the pipeline runs. */
  @Get('status')
  status(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.status(user.id, id);
  }

  @Post()
  async start(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() body: FormBody, @Res() res: Response) {
    const form = validateForm(StartCollaborationDto, { files: body?.files, accessLevel: body?.accessLevel || undefined });
    if (form.errors) throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    const view = await this.collaboration.start(user.id, id, form.value.files, form.value.accessLevel);
    return this.back(res, id, view.invites.total || view.files.total ? 'Sharing with collaborators started.' : 'Nothing new to share.');
  }

  @Post('retry')
  async retry(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    await this.collaboration.retry(user.id, id);
    return this.back(res, id, 'Retrying: steps already done are not done again.');
  }

  @Post('reset')
  async reset(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    await this.collaboration.reset(user.id, id);
    return this.back(res, id, 'Reset: the track is no longer shared with collaborators here. The Dropbox folder and its members were left as they are.');
  }

  @Post('refresh')
  async refresh(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    await this.collaboration.refresh(user.id, id);
    return this.back(res, id, 'Collaborator states refreshed from Dropbox.');
  }

  @Post('members/:collaboratorId/reinvite')
  async reinvite(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
    @Res() res: Response,
  ) {
    await this.collaboration.reinvite(user.id, id, collaboratorId);
    return this.back(res, id, 'The invitation is being sent again.');
  }

  @Post('members/:collaboratorId/remove')
  async removeAccess(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
    @Res() res: Response,
  ) {
    await this.collaboration.removeAccess(user.id, id, collaboratorId);
    return this.back(res, id, 'Their access to the shared folder was removed.');
  }

  private back(res: Response, trackId: string, message: string) {
    const req = res.req;
    if (req.session) req.session.flash = { kind: 'success', message };
    res.redirect(303, `/tracks/${trackId}/collaboration`);
  }
}
