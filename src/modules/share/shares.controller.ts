import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Render,
  Req,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { isConfirmed, renderConfirmation } from '../../common/http/confirm';
import { errorsByField, validateForm } from '../../common/http/validation';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CATEGORY_LABELS, FILE_CATEGORIES } from '../files/file-categories';
import { CreateShareDto, MAX_SHARE_TRACKS, UpdateShareDto } from './dto/share.dto';
import { EXPIRY_CHOICES, EXPIRY_LABELS } from './share-rules';
import { PreviewsService } from '../media/previews.service';
import { ShareCommentsService } from './share-comments.service';
import { SharesService, ShareView } from './shares.service';
import { ShareListensService } from './share-listens.service';
import { MAX_RECIPIENTS_PER_REQUEST, ShareRecipientsService } from './share-recipients.service';
import {
  checked,
  contentsFromForm,
  createFromForm,
  FormBody,
  list,
  parseTrackList,
  updateFromForm,
} from './share-forms';
import { decorate, listenRow, recipientRow, revokeConfirmation } from './share-views';

const uuid = new ParseUUIDPipe();
const HEAD = '<link rel="stylesheet" href="/static/css/share.css">';

/** The owner's pages: the Share tab of a track (or of several), the list of shares, one share's settings. */
@ApiExcludeController()
@Controller()
export class SharesController {
  constructor(
    private readonly shares: SharesService,
    private readonly previews: PreviewsService,
    private readonly recipients: ShareRecipientsService,
    private readonly listens: ShareListensService,
    private readonly comments: ShareCommentsService,
  ) {}

  @Get('tracks/:id/share')
  async trackTab(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    return this.renderTab(user, [id], `/tracks/${id}/share`, res, 200);
  }

  @Post('tracks/:id/share')
  async createForTrack(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    return this.createFromForm(user, [id], `/tracks/${id}/share`, body, req, res);
  }

  @Get('shares/new')
  async multiTab(@CurrentUser() user: AuthenticatedUser, @Query('tracks') tracks: unknown, @Res() res: Response) {
    return this.renderTab(user, parseTrackList(tracks), '/shares', res, 200);
  }

  @Post('shares')
  async createForTracks(
    @CurrentUser() user: AuthenticatedUser,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    return this.createFromForm(user, list(body.tracks), '/shares', body, req, res);
  }

  @Get('shares')
  @Render('dashboard/share-list')
  async listPage(@CurrentUser() user: AuthenticatedUser) {
    return { title: 'Shares', nav: 'shares', head: HEAD, shares: (await this.shares.list(user.id)).map(decorate) };
  }

  @Get('shares/:id')
  @Render('dashboard/share-detail')
  async detailPage(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return { ...this.detailModel(await this.shares.get(user.id, id)), ...(await this.audienceModel(user.id, id)) };
  }

  /** Several recipients at once, one "Name <email>" per line: all added, or none (the lines come back with why). */
  @Post('shares/:id/recipients')
  async addRecipients(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const text = typeof body.recipients === 'string' ? body.recipients : '';
    // One expiry for the links made together; empty means with the share.
    const expiry = typeof body.expiry === 'string' && body.expiry !== '' ? body.expiry : undefined;
    const { dtos, errors } = this.recipients.parseLines(text, expiry);
    if (dtos.length > MAX_RECIPIENTS_PER_REQUEST)
      errors.push(`add at most ${MAX_RECIPIENTS_PER_REQUEST} recipients at once`);
    if (errors.length === 0) {
      try {
        const made = await this.recipients.createMany(user.id, id, dtos);
        req.session.flash = {
          kind: 'success',
          message:
            made.length === 1
              ? `Link made for ${made[0].name}. Copy it and send it.`
              : `${made.length} links made. Copy each one and send it.`,
        };
        return res.redirect(303, `/shares/${id}#recipients`);
      } catch (err) {
        if (!(err instanceof BadRequestException || err instanceof ConflictException)) throw err;
        errors.push(String((err.getResponse() as { message?: string }).message ?? err.message));
      }
    }
    const share = await this.shares.get(user.id, id);
    res.status(400).render('dashboard/share-detail', {
      ...this.detailModel(share),
      ...(await this.audienceModel(user.id, id, { lines: text, errors, expiry })),
    });
  }

  @Post('shares/:id/recipients/:rid/revoke')
  async revokeRecipient(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('rid', uuid) rid: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    if (!isConfirmed(body)) {
      const found = (await this.recipients.list(user.id, id)).find((r) => r.id === rid);
      if (!found) return this.recipients.revoke(user.id, id, rid); // 404, like any id that isn't theirs
      return renderConfirmation(res, {
        heading: `Disable ${found.name}\u2019s link?`,
        message: `${found.name}\u2019s link will say that it has been disabled. The share\u2019s own link and the other recipients\u2019 links keep working.`,
        caveat: "Downloads already handed out may still finish: Dropbox's download links stay valid for up to 4 hours.",
        action: `/shares/${id}/recipients/${rid}/revoke`,
        confirmLabel: 'Disable their link',
        cancelUrl: `/shares/${id}#recipients`,
        nav: 'shares',
      });
    }
    const revoked = await this.recipients.revoke(user.id, id, rid);
    req.session.flash = {
      kind: 'success',
      message: `${revoked.name}\u2019s link is disabled. The share and the other links stay as they are.`,
    };
    res.redirect(303, `/shares/${id}#recipients`);
  }

  /** The recipients box and the listening report of the share's page. */
  private async audienceModel(
    ownerId: string,
    shareId: string,
    form: { lines?: string; errors?: string[]; expiry?: string } = {},
  ) {
    const [recipients, report, comments] = await Promise.all([
      this.recipients.list(ownerId, shareId),
      this.listens.report(ownerId, shareId),
      this.comments.forOwner(ownerId, shareId),
    ]);
    return {
      comments,
      recipients: recipients.map(recipientRow),
      recipientForm: {
        lines: form.lines ?? '',
        errors: form.errors ?? [],
        expiryChoices: EXPIRY_CHOICES.filter((value) => value !== 'never').map((value) => ({
          value,
          label: `${EXPIRY_LABELS[value]} from now`,
          selected: value === form.expiry,
        })),
      },
      listening: {
        tracks: report.tracks.map((t) => ({ ...listenRow(t), title: t.title })),
        files: report.files.map((f) => ({ ...listenRow(f), name: f.name, trackTitle: f.trackTitle })),
        links: report.recipients
          .filter((r) => r.sessions > 0 || r.id === null)
          .map((r) => ({ ...listenRow(r), name: r.name })),
        any: report.files.some((f) => f.sessions > 0),
      },
    };
  }

  @Post('shares/:id')
  async updatePage(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const form = validateForm(UpdateShareDto, updateFromForm(body));
    if (form.errors) {
      const share = await this.shares.get(user.id, id);
      return res
        .status(400)
        .render('dashboard/share-detail', { ...this.detailModel(share), errors: errorsByField(form.errors) });
    }
    await this.shares.update(user.id, id, form.value);
    req.session.flash = { kind: 'success', message: 'Share updated. The link stays the same.' };
    res.redirect(303, `/shares/${id}`);
  }

  @Get('shares/:id/contents')
  async contentsPage(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Query('tracks') tracks: unknown,
    @Query('add') add: unknown,
    @Res() res: Response,
  ) {
    const listed = parseTrackList(tracks);
    const trackIds = listed.length || list(add).length ? [...new Set([...listed, ...parseTrackList(add)])] : undefined;
    return this.renderContents(user, id, trackIds, res, 200);
  }

  @Post('shares/:id/contents')
  async saveContents(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const { plain, stray, trackIds } = contentsFromForm(body);
    const form = validateForm(UpdateShareDto, plain);
    const errors = form.errors ? errorsByField(form.errors) : {};
    if (stray.length) errors.files = 'some selected files do not belong to the tracks of this share';
    if (trackIds.length === 0) errors.tracks = 'a share keeps at least one track: to stop sharing, disable the link';
    const again = () => this.renderContents(user, id, [...new Set(list(body.tracks))], res, 400, { errors, body });
    if (Object.keys(errors).length) return again();
    try {
      await this.shares.update(user.id, id, form.value!);
    } catch (err) {
      if (!(err instanceof BadRequestException)) throw err;
      const answer = err.getResponse() as { field?: string; message?: string };
      errors[answer.field?.startsWith('tracks') && !answer.field.endsWith('files') ? 'tracks' : 'files'] = String(
        answer.message ?? err.message,
      );
      return again();
    }
    req.session.flash = {
      kind: 'success',
      message: 'Contents saved. The link stays the same; recipients see the change at once.',
    };
    res.redirect(303, `/shares/${id}`);
  }

  @Get('shares/:id/revoke')
  async confirmRevoke(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Res() res: Response) {
    const share = await this.shares.get(user.id, id);
    if (share.status === 'revoked') return res.redirect(303, `/shares/${id}`);
    renderConfirmation(res, revokeConfirmation(share));
  }

  @Post('shares/:id/revoke')
  async revokePage(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Body() body: FormBody,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    if (!isConfirmed(body)) return renderConfirmation(res, revokeConfirmation(await this.shares.get(user.id, id)));
    await this.shares.revoke(user.id, id);
    req.session.flash = {
      kind: 'success',
      message: 'Link disabled. Anyone opening it now sees that it has been disabled.',
    };
    res.redirect(303, `/shares/${id}`);
  }

  private detailModel(share: ShareView) {
    return {
      title: share.title,
      nav: 'shares',
      head: HEAD,
      share: decorate(share),
      expiryChoices: EXPIRY_CHOICES.map((value) => ({
        value,
        label: value === 'never' ? 'Never expires' : `${EXPIRY_LABELS[value]} from now`,
      })),
      categories: FILE_CATEGORIES.map((c) => ({ value: c, label: CATEGORY_LABELS[c], enabled: share.downloads[c] })),
    };
  }

  private async renderContents(
    user: AuthenticatedUser,
    shareId: string,
    trackIds: string[] | undefined,
    res: Response,
    status: number,
    extra: { errors?: Record<string, string>; body?: FormBody } = {},
  ) {
    const { share, tab } = await this.shares.contentsTab(user.id, shareId, trackIds);
    if (share.status === 'revoked') {
      res.status(409).render('dashboard/share-detail', {
        ...this.detailModel(share),
        errors: { _form: 'This link is disabled: its contents can no longer change.' },
      });
      return;
    }
    const followed = new Map(share.tracks.map((t) => [t.id, new Set<string>(t.follow)]));
    const posted = extra.body ? new Set(list(extra.body.follow)) : null;
    const postedFiles = extra.body ? new Set(list(extra.body.files)) : null;
    const listed = tab.tracks.map((t) => t.track.id);
    res.status(status).render('dashboard/share-contents', {
      title: `Contents of ${share.title}`,
      nav: 'shares',
      head: HEAD,
      share,
      tab,
      errors: extra.errors ?? {},
      tracks: tab.tracks.map((t, i) => ({
        ...t,
        order: i + 1,
        onShare: followed.has(t.track.id),
        groups: t.groups.map((g) => ({
          ...g,
          items: g.items.map((item) => ({
            ...item,
            checked: postedFiles ? postedFiles.has(item.value) : item.checked,
          })),
        })),
        follow: FILE_CATEGORIES.map((c) => ({
          value: `${t.track.id}/${c}`,
          label: CATEGORY_LABELS[c],
          checked: posted ? posted.has(`${t.track.id}/${c}`) : (followed.get(t.track.id)?.has(c) ?? false),
        })),
      })),
      listed,
      addable: tab.connected ? await this.shares.otherTracks(user.id, listed) : [],
      maxTracks: MAX_SHARE_TRACKS,
    });
  }

  private async renderTab(
    user: AuthenticatedUser,
    trackIds: string[],
    action: string,
    res: Response,
    status: number,
    extra: { selected?: Set<string>; errors?: Record<string, string>; values?: FormBody } = {},
  ) {
    const tab = await this.shares.tab(user.id, trackIds, extra.selected);
    const values = extra.values ?? {};
    const following = new Set(list(values.follow));
    const single = tab.tracks.length === 1 && trackIds.length === 1 ? tab.tracks[0] : null;
    res.status(status).render('dashboard/share-new', {
      title: single ? `Share ${single.track.title}` : 'New share',
      nav: 'shares',
      head: HEAD,
      tab: {
        ...tab,
        tracks: tab.tracks.map((t) => ({
          ...t,
          follow: FILE_CATEGORIES.map((c) => ({
            value: `${t.track.id}/${c}`,
            label: CATEGORY_LABELS[c],
            checked: following.has(`${t.track.id}/${c}`),
          })),
        })),
      },
      action,
      trackIds,
      // The track's Share tab (not the multi-track new share) shows the track's sections like its other tabs.
      tabsTrackId: single && action === `/tracks/${single.track.id}/share` ? single.track.id : null,
      multi: trackIds.length > 1,
      maxTracks: MAX_SHARE_TRACKS,
      collaborationTrack: single && single.track.collaborators.length > 0 ? single.track : null,
      errors: extra.errors ?? {},
      values: {
        title: values.title ?? '',
        message: values.message ?? '',
        expiry: values.expiry ?? '30d',
        streamOriginals: checked(values.stream_originals),
        comments: checked(values.comments),
        commentsPublic: checked(values.comments_public),
      },
      previewsUnavailable: this.previews.ffmpegMissing,
      expiryChoices: EXPIRY_CHOICES.map((value) => ({
        value,
        label: EXPIRY_LABELS[value],
        selected: value === (values.expiry ?? '30d'),
      })),
      categories: FILE_CATEGORIES.map((c) => ({
        value: c,
        label: CATEGORY_LABELS[c],
        enabled: extra.values ? checked(values[`download_${c}`]) : tab.defaults[c],
      })),
    });
  }

  private async createFromForm(
    user: AuthenticatedUser,
    trackIds: string[],
    action: string,
    body: FormBody,
    req: Request,
    res: Response,
  ) {
    const { plain, stray, selected } = createFromForm(body, trackIds);
    const form = validateForm(CreateShareDto, plain);
    const errors = form.errors ? errorsByField(form.errors) : {};
    if (stray.length) errors.files = 'some selected files do not belong to the tracks of this share';
    if (form.errors || stray.length)
      return this.renderTab(user, trackIds, action, res, 400, { selected, errors, values: body });
    let share: ShareView;
    try {
      share = await this.shares.create(user.id, form.value!);
    } catch (err) {
      // Refusals about the selection (a file of another track, nothing selected) come back on the form.
      if (!(err instanceof BadRequestException)) throw err;
      const answer = err.getResponse() as { field?: string; message?: string };
      const field =
        answer.field && !answer.field.endsWith('files') && answer.field !== 'dropboxIds' ? answer.field : 'files';
      errors[field] = String(answer.message ?? err.message);
      return this.renderTab(user, trackIds, action, res, 400, { selected, errors, values: body });
    }
    req.session.flash = { kind: 'success', message: 'Share link created. Copy it and send it.' };
    res.redirect(303, `/shares/${share.id}`);
  }
}
