import {
  ArgumentsHost,
  BadRequestException,
  Body,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  HttpException,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Post,
  Query,
  Render,
  Req,
  Res,
  UploadedFile,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { Request, Response } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { errorsByField, validateForm } from '../../common/http/validation';
import { CurrentUser } from '../accounts/decorators';
import { MAX_ARTWORK_BYTES } from './artwork';
import { CreateTrackDto, UpdateTrackDto } from './dto/track.dto';
import { PageRequest, pageId, refusal, refusalMessage, typedFields } from './page-forms';
import { TrackPageModels } from './track-page-models';
import { TracksService } from './tracks.service';
import { TrackView } from './views';

// multer ships without types here; its memory storage keeps the (size-limited) artwork in a Buffer for sharp.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { memoryStorage } = require('multer') as { memoryStorage: () => unknown };

interface UploadedImage {
  buffer: Buffer;
  size: number;
}

const TRACK_FIELDS = ['title', 'artist', 'bpm', 'key', 'sharingStatus'];

/** Deleting a track needs a ticked box, so a stray click can't do it (works without JavaScript). */
class DeleteTrackForm {
  @IsIn(['yes'], { message: 'tick the box to confirm' })
  confirm: string;
}

/**
 * multer refuses an oversized or malformed artwork upload before the handler runs; the producer gets the track
 * page back with the reason instead of an error page.
 */
@Catch(PayloadTooLargeException, BadRequestException)
export class ArtworkRefusedFilter implements ExceptionFilter {
  catch(exception: HttpException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const message =
      exception instanceof PayloadTooLargeException
        ? `Artwork not changed: it must be at most ${MAX_ARTWORK_BYTES / 1024 / 1024} MB.`
        : 'Artwork not changed: send one image file (JPEG, PNG or WebP).';
    req.session.flash = { kind: 'error', message };
    res.redirect(303, `/tracks/${encodeURIComponent(String(req.params.id ?? ''))}#artwork`);
  }
}

/**
 * The producer's tracks list and a track's own page: details, deletion, artwork. Server-rendered forms that work
 * without JavaScript; public/js/track-page.js only enhances them. Form posts answer with the page again (400,
 * messages beside the fields) or a redirect with a flash — never a JSON error.
 */
@ApiExcludeController()
@Controller()
export class TrackPagesController {
  constructor(
    private readonly tracks: TracksService,
    private readonly models: TrackPageModels,
  ) {}

  // ---- Tracks list ------------------------------------------------------------------------------------------

  @Get('tracks')
  @Render('dashboard/tracks')
  tracksPage(@CurrentUser() user: AuthenticatedUser, @Query() query: Record<string, unknown>) {
    return this.models.tracksList(user, query);
  }

  @Post('tracks')
  async createTrack(
    @CurrentUser() user: AuthenticatedUser,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(CreateTrackDto, body);
    let errors = form.errors ? errorsByField(form.errors) : null;
    let created: TrackView | undefined;
    if (form.value) {
      try {
        created = await this.tracks.create(user.id, form.value);
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    if (!created) {
      return res
        .status(400)
        .render(
          'dashboard/tracks',
          await this.models.tracksList(user, {}, { form: typedFields(body, TRACK_FIELDS), errors }),
        );
    }
    req.session.flash = {
      kind: 'success',
      message: `Track “${created.title}” created, with its folder in your Dropbox.`,
    };
    res.redirect(303, `/tracks/${created.id}`);
  }

  // ---- One track ---------------------------------------------------------------------------------------------

  @Get('tracks/:id')
  @Render('dashboard/track')
  trackPage(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string) {
    return this.models.track(user, id);
  }

  @Post('tracks/:id')
  async updateTrack(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(UpdateTrackDto, body);
    let errors = form.errors ? errorsByField(form.errors) : null;
    if (form.value) {
      try {
        const track = await this.tracks.update(user.id, id, form.value);
        req.session.flash = { kind: 'success', message: `Track “${track.title}” saved.` };
        return res.redirect(303, `/tracks/${id}`);
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    return this.models.renderTrack(res, user, id, { editForm: typedFields(body, TRACK_FIELDS), editErrors: errors });
  }

  @Post('tracks/:id/delete')
  async deleteTrack(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(DeleteTrackForm, body);
    if (form.errors) return this.models.renderTrack(res, user, id, { deleteErrors: errorsByField(form.errors) });
    const track = await this.tracks.get(user.id, id);
    await this.tracks.remove(user.id, id);
    req.session.flash = {
      kind: 'success',
      message: `Track “${track.title}” deleted. Its Dropbox folder and files are still in your Dropbox.`,
    };
    res.redirect(303, '/tracks');
  }

  // ---- Artwork -------------------------------------------------------------------------------------------------

  /** Artwork as a plain multipart form (the CSRF token rides in the action URL: guards run before multer). */
  @Post('tracks/:id/artwork')
  @UseFilters(ArtworkRefusedFilter)
  @UseInterceptors(
    FileInterceptor('artwork', {
      storage: memoryStorage(),
      limits: { fileSize: MAX_ARTWORK_BYTES, files: 1, fields: 5 },
    }),
  )
  async setArtwork(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @UploadedFile() file: UploadedImage | undefined,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.tracks.owned(user.id, id);
    if (!file || file.size === 0) {
      req.session.flash = { kind: 'error', message: 'Choose an image file (JPEG, PNG or WebP) for the artwork.' };
      return res.redirect(303, `/tracks/${id}#artwork`);
    }
    try {
      await this.tracks.setArtwork(user.id, id, file.buffer);
      req.session.flash = { kind: 'success', message: 'Artwork saved.' };
    } catch (err) {
      const message = refusalMessage(err);
      if (!message) throw err;
      req.session.flash = { kind: 'error', message: `Artwork not changed: ${message}.` };
    }
    res.redirect(303, `/tracks/${id}#artwork`);
  }

  @Post('tracks/:id/artwork/delete')
  async removeArtwork(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.tracks.removeArtwork(user.id, id);
    req.session.flash = { kind: 'success', message: 'Artwork removed.' };
    res.redirect(303, `/tracks/${id}#artwork`);
  }

  /** The owner's artwork images (share pages serve their own, behind the share's access check). */
  @Get('tracks/:id/artwork/:size')
  async artwork(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('size') size: string,
    @Res() res: Response,
  ) {
    if (size !== 'large' && size !== 'small') throw new NotFoundException('not found');
    await this.tracks.owned(user.id, id);
    const image = await this.tracks.artwork(id, size);
    if (!image) throw new NotFoundException('this track has no artwork');
    // The URL carries the artwork version, so the browser may keep it.
    res.set('Cache-Control', 'private, max-age=31536000, immutable').type('image/jpeg').send(image);
  }
}
