import { BadRequestException, Body, Controller, Get, Param, ParseUUIDPipe, Post, Render, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { isConfirmed, renderConfirmation } from '../../common/http/confirm';
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
  async reset(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() body: FormBody, @Res() res: Response) {
    if (!isConfirmed(body)) {
      const view = await this.collaboration.status(user.id, id);
      return renderConfirmation(res, {
        heading: 'Reset sharing with collaborators?',
        message: `The pipeline of “${view.trackTitle}” stops and is forgotten here: the track shows as not shared with collaborators, and its progress and states are cleared. This cannot be undone.`,
        caveat: 'The Dropbox folder and its members stay as they are in Dropbox; sharing again reuses that folder.',
        action: `/tracks/${id}/collaboration/reset`,
        confirmLabel: 'Reset',
        cancelUrl: `/tracks/${id}/collaboration`,
        nav: 'tracks',
      });
    }
    await this.collaboration.reset(user.id, id);
    return this.back(res, id, 'Reset: the track is no longer shared with collaborators here. The Dropbox folder and its members were left as they are.');
  }

  @Post('refresh')
  async refresh(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    await this.collaboration.refresh(user.id, id);
    return this.back(res, id, 'Collaborator states refreshed from Dropbox.');
  }

  @Post('members/:collaboratorId/remove')
  async removeAccess(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ) {
    if (!isConfirmed(body)) {
      const view = await this.collaboration.status(user.id, id);
      const member = view.members.find((m) => m.collaboratorId === collaboratorId);
      return renderConfirmation(res, {
        heading: 'Remove their access?',
        message: `${member?.name ?? 'This collaborator'} is removed from the shared Dropbox folder of “${view.trackTitle}” and can no longer open it. To give access again, share with them once more.`,
        caveat: 'Files they already copied or downloaded stay with them.',
        action: `/tracks/${id}/collaboration/members/${collaboratorId}/remove`,
        confirmLabel: 'Remove access',
        cancelUrl: `/tracks/${id}/collaboration`,
        nav: 'tracks',
      });
    }
    await this.collaboration.removeAccess(user.id, id, collaboratorId);
    return this.back(res, id, 'Their access to the shared folder was removed.');
  }

  private back(res: Response, trackId: string, message: string) {
    const req = res.req;
    if (req.session) req.session.flash = { kind: 'success', message };
    res.redirect(303, `/tracks/${trackId}/collaboration`);
  }
}
