import { Body, Controller, Get, NotFoundException, Param, Post, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { errorsByField, validateForm } from '../../common/http/validation';
import { CurrentUser } from '../accounts/decorators';
import { CollaboratorsService, CollaboratorWithTracks } from './collaborators.service';
import { AssignCollaboratorDto, CollaboratorDto } from './dto/collaborator.dto';
import { collaboratorEditModel, collaboratorsPageModel, FieldErrors } from './files-pages.view-models';
import { PageRequest, pageId, refusal, typedFields } from './page-forms';
import { TrackPageModels } from './track-page-models';
import { TracksService } from './tracks.service';

const COLLABORATOR_FIELDS = ['name', 'email', 'role'];

/**
 * The producer's collaborators: their own page, and putting them on or taking them off a track (forms on the
 * track's page, which comes back with the messages when one is refused).
 */
@ApiExcludeController()
@Controller()
export class CollaboratorPagesController {
  constructor(
    private readonly tracks: TracksService,
    private readonly collaborators: CollaboratorsService,
    private readonly models: TrackPageModels,
  ) {}

  // ---- Collaborators on a track -------------------------------------------------------------------------------

  @Post('tracks/:id/collaborators')
  async assign(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(AssignCollaboratorDto, body);
    let errors: FieldErrors | null = form.errors ? { collaboratorId: 'choose a collaborator' } : null;
    if (form.value) {
      try {
        const list = await this.collaborators.assign(user.id, id, form.value.collaboratorId);
        const added = list.find((c) => c.id === form.value!.collaboratorId);
        req.session.flash = { kind: 'success', message: `${added?.name ?? 'Collaborator'} is now on this track.` };
        return res.redirect(303, `/tracks/${id}#collaborators`);
      } catch (err) {
        if (err instanceof NotFoundException) {
          await this.tracks.owned(user.id, id); // the track: a real 404; the collaborator: a field error
          errors = { collaboratorId: 'choose one of your collaborators' };
        } else if (!(errors = refusal(err))) throw err;
      }
    }
    return this.models.renderTrack(res, user, id, { assignErrors: errors });
  }

  @Post('tracks/:id/collaborators/new')
  async addNewCollaborator(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    await this.tracks.owned(user.id, id);
    const form = validateForm(CollaboratorDto, body);
    let errors = form.errors ? errorsByField(form.errors) : null;
    if (form.value) {
      try {
        // One use case: a refused assignment leaves no new collaborator behind.
        const created = await this.collaborators.createOnTrack(user.id, id, form.value);
        req.session.flash = {
          kind: 'success',
          message: `${created.name} added to your collaborators and to this track.`,
        };
        return res.redirect(303, `/tracks/${id}#collaborators`);
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    return this.models.renderTrack(res, user, id, {
      newCollaborator: typedFields(body, COLLABORATOR_FIELDS),
      newCollaboratorErrors: errors,
    });
  }

  @Post('tracks/:id/collaborators/:collaboratorId/remove')
  async unassign(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('collaboratorId', pageId) collaboratorId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.collaborators.unassign(user.id, id, collaboratorId);
    req.session.flash = { kind: 'success', message: 'Collaborator taken off this track.' };
    res.redirect(303, `/tracks/${id}#collaborators`);
  }

  // ---- The producer's collaborators ----------------------------------------------------------------------------

  @Get('collaborators')
  @Render('dashboard/collaborators')
  async collaboratorsPage(@CurrentUser() user: AuthenticatedUser) {
    return collaboratorsPageModel(await this.collaborators.list(user.id));
  }

  @Post('collaborators')
  async createCollaborator(
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(CollaboratorDto, body);
    let errors = form.errors ? errorsByField(form.errors) : null;
    if (form.value) {
      try {
        const created = await this.collaborators.create(user.id, form.value);
        req.session.flash = { kind: 'success', message: `${created.name} added.` };
        return res.redirect(303, '/collaborators');
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    const model = collaboratorsPageModel(await this.collaborators.list(user.id), {
      form: typedFields(body, COLLABORATOR_FIELDS),
      errors,
    });
    res.status(400).render('dashboard/collaborators', model);
  }

  @Get('collaborators/:id/edit')
  @Render('dashboard/collaborators-edit')
  async editCollaboratorPage(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string) {
    const collaborator = await this.ownCollaborator(user, id);
    return collaboratorEditModel(
      collaborator,
      { name: collaborator.name, email: collaborator.email ?? '', role: collaborator.role },
      null,
    );
  }

  @Post('collaborators/:id')
  async updateCollaborator(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const collaborator = await this.ownCollaborator(user, id);
    const form = validateForm(CollaboratorDto, body);
    let errors = form.errors ? errorsByField(form.errors) : null;
    if (form.value) {
      try {
        const saved = await this.collaborators.update(user.id, id, form.value);
        req.session.flash = { kind: 'success', message: `${saved.name} saved.` };
        return res.redirect(303, '/collaborators');
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    res
      .status(400)
      .render(
        'dashboard/collaborators-edit',
        collaboratorEditModel(collaborator, typedFields(body, COLLABORATOR_FIELDS), errors),
      );
  }

  @Post('collaborators/:id/delete')
  async deleteCollaborator(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    const collaborator = await this.ownCollaborator(user, id);
    await this.collaborators.remove(user.id, id);
    req.session.flash = { kind: 'success', message: `${collaborator.name} deleted and taken off every track.` };
    res.redirect(303, '/collaborators');
  }

  private async ownCollaborator(user: AuthenticatedUser, id: string): Promise<CollaboratorWithTracks> {
    const found = (await this.collaborators.list(user.id)).find((c) => c.id === id);
    if (!found) throw new NotFoundException('collaborator not found');
    return found;
  }
}
