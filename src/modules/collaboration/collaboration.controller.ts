import { BadRequestException, Body, Controller, Get, Param, ParseUUIDPipe, Post, Render, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { isConfirmed, renderConfirmation } from '../../common/http/confirm';
import { validateForm } from '../../common/http/validation';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CollaborationService } from './collaboration.service';
import { CollaborationView } from './collaboration.views';
import { CATEGORY_LABELS, FILE_CATEGORIES } from '../files/file-categories';
import { COLLAB_EXPIRY_LABELS, formatDay } from './collab-settings';
import { COLLAB_EXPIRY_CHOICES } from './entities/collab-pipeline.entity';
import { StartCollaborationDto, UpdateCollaborationDto } from './dto/start-collaboration.dto';

const uuid = new ParseUUIDPipe();

/** Without JavaScript the running panel reloads itself; with it, collaboration.js updates it in place. */
const NOSCRIPT_REFRESH = '<noscript><meta http-equiv="refresh" content="5"></noscript>';

type FormBody = Record<string, unknown>;

const checked = (value: unknown) => value === 'on' || value === 'true' || value === '1';

/**
 * The start form as the API's DTO. The Share tab's form carries the share settings (its expiry radio always sends a
 * value; an unticked download box sends nothing, so it means "off"); the panel's "Share with remaining" form has
 * none and keeps the pipeline's.
 */
function startFromForm(body: FormBody) {
  const plain: Record<string, unknown> = { files: body?.files, accessLevel: body?.accessLevel || undefined };
  if (body?.expiry !== undefined) {
    plain.expiry = body.expiry;
    plain.downloads = Object.fromEntries(FILE_CATEGORIES.map((c) => [c, checked(body[`download_${c}`])]));
    plain.disabledDownloads = body.disabledDownloads || undefined;
  }
  return plain;
}

/**
 * The collaboration status panel and its forms. The Share tab's "Share Files with Collaborators" button posts its
 * whole form here (formaction): the files, the expiry and the download permissions are read (they are the share's
 * settings, as for a link); the link-only fields (title, message, password) are ignored.
 */
@ApiExcludeController()
@Controller('tracks/:id/collaboration')
export class CollaborationController {
  constructor(private readonly collaboration: CollaborationService) {}

  @Get()
  @Render('dashboard/collaboration')
  async page(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    const view = await this.collaboration.status(user.id, id);
    // Also live while the collaborators are being removed, so "Access ended" appears without a reload.
    const live = view.status === 'running' || view.status === 'stuck' || view.access.state === 'ending';
    const leftOut = new Set(view.files.leftOutNotes);
    return {
      title: `Collaboration · ${view.trackTitle}`,
      nav: 'tracks',
      head: live ? NOSCRIPT_REFRESH : undefined,
      collab: view,
      live,
      stepsDone: view.status === 'done',
      missingNotes: view.files.skippedNotes.filter((note) => !leftOut.has(note)),
      collabDownloads: FILE_CATEGORIES.map((c) => ({ label: CATEGORY_LABELS[c], enabled: view.downloads[c] })),
      extendChoices: COLLAB_EXPIRY_CHOICES.map((value) => ({ value, label: COLLAB_EXPIRY_LABELS[value] })),
    };
  }

  /** The panel's state as JSON, polled by collaboration.js while the pipeline runs. */
  @Get('status')
  status(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string): Promise<CollaborationView> {
    return this.collaboration.status(user.id, id);
  }

  @Post()
  async start(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ) {
    const form = validateForm(StartCollaborationDto, startFromForm(body));
    if (form.errors)
      throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    const before = await this.collaboration.status(user.id, id);
    const view = await this.collaboration.start(user.id, id, form.value);
    let message =
      view.invites.total || view.files.total ? 'Sharing with collaborators started.' : 'Nothing new to share.';
    if (before.status !== 'not_shared' && form.value.expiry !== undefined) {
      message += ` This share keeps the settings it started with (${view.access.label ?? 'access never ends'}); change its end below.`;
    }
    if (view.files.leftOut) message += ` ${view.files.leftOut} file(s) left out: their downloads are off (see below).`;
    return this.back(res, id, message);
  }

  /** Extend (a new end from now, or never) and End access now. */
  @Post('expiry')
  async updateExpiry(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ) {
    const form = validateForm(UpdateCollaborationDto, { expiry: body?.expiry });
    if (form.errors)
      throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    const before = await this.collaboration.status(user.id, id);
    const view = await this.collaboration.updateExpiry(user.id, id, form.value.expiry);
    const message =
      form.value.expiry === 'now'
        ? 'Ending access: the collaborators are being removed from the Dropbox folder. The folder and its files stay in your Dropbox.'
        : view.expiresAt
          ? `Access now ends on ${formatDay(new Date(view.expiresAt))}.`
          : 'Access no longer ends.';
    const reinvited = form.value.expiry !== 'now' && before.access.state === 'ended';
    return this.back(
      res,
      id,
      reinvited ? `${message} The collaborators removed when access ended are being invited again.` : message,
    );
  }

  @Post('retry')
  async retry(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    await this.collaboration.retry(user.id, id);
    return this.back(res, id, 'Retrying: steps already done are not done again.');
  }

  @Post('reset')
  async reset(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Res() res: Response,
  ) {
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
    return this.back(
      res,
      id,
      'Reset: the track is no longer shared with collaborators here. The Dropbox folder and its members were left as they are.',
    );
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
