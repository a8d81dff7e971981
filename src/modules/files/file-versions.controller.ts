import {
  Body,
  Controller,
  Get,
  HttpException,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Render,
  Req,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { validateForm } from '../../common/http/validation';
import { formatBytes } from '../../common/views/handlebars';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { DropboxError } from '../dropbox/dropbox.errors';
import { RestoreRevisionDto } from './dto/library.dto';
import { CATEGORY_FOLDERS } from './file-categories';
import { LibraryService } from './library.service';
import { TracksService } from './tracks.service';

const pageId = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('not found') });

/** A library file's versions (its Dropbox revisions) and restoring one; forms work without JavaScript. */
@ApiExcludeController()
@Controller()
export class FileVersionsController {
  constructor(
    private readonly library: LibraryService,
    private readonly tracks: TracksService,
  ) {}

  @Get('tracks/:id/files/:fileId/revisions')
  @Render('dashboard/file-revisions')
  async revisionsPage(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
  ) {
    const track = await this.tracks.get(user.id, id);
    const { file, revisions } = await this.library.revisions(user.id, id, fileId);
    return {
      title: `Versions of ${file.name}`,
      nav: 'tracks',
      track,
      file: { ...file, categoryLabel: CATEGORY_FOLDERS[file.category] },
      revisions: revisions.map((r, i) => ({
        ...r,
        number: revisions.length - i,
        sizeText: formatBytes(r.size),
        hashShort: r.contentHash?.slice(0, 12) ?? '',
      })),
    };
  }

  @Post('tracks/:id/files/:fileId/restore')
  async restore(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const form = validateForm(RestoreRevisionDto, body);
    try {
      if (form.errors) throw new HttpException({ message: form.errors[0].message }, 400);
      const file = await this.library.restore(user.id, id, fileId, form.value.rev);
      req.session.flash = {
        kind: 'success',
        message: `That version of ${file.name} is current again: every share plays and downloads it now.`,
      };
    } catch (err) {
      const refused =
        err instanceof DropboxError || (err instanceof HttpException && [400, 409].includes(err.getStatus()));
      if (!refused) throw err;
      const message =
        err instanceof HttpException
          ? String((err.getResponse() as { message?: unknown }).message ?? err.message)
          : err.message;
      req.session.flash = { kind: 'error', message: `Nothing restored: ${message}.` };
    }
    res.redirect(303, `/tracks/${id}/files/${fileId}/revisions`);
  }
}
