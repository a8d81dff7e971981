import { BadRequestException, Body, Controller, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { Response } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { validateForm } from '../../common/http/validation';
import { CurrentUser } from '../accounts/decorators';
import { ImportFilesDto, UpdateTrackFileDto } from './dto/library.dto';
import { CATEGORY_FOLDERS } from './file-categories';
import { plural } from './files-pages.view-models';
import { LibraryService } from './library.service';
import { flashing, flashingWith, PageRequest, pageId } from './page-forms';
import { TracksService } from './tracks.service';
import { UploadReceiver } from './upload-receiver';
import { UploadsService } from './uploads.service';

class MasterForm {
  @IsIn(['on', 'off'], { message: 'master must be on or off' })
  master: 'on' | 'off';
}

/**
 * The buttons of a track's library and uploads: import, master, category, forget, and the upload form without
 * JavaScript (upload.js sends each file to the JSON API instead). Each answers with a redirect and a flash.
 */
@ApiExcludeController()
@Controller()
export class LibraryPagesController {
  constructor(
    private readonly tracks: TracksService,
    private readonly library: LibraryService,
    private readonly receiver: UploadReceiver,
    private readonly uploads: UploadsService,
  ) {}

  // ---- Library ------------------------------------------------------------------------------------------------

  @Post('tracks/:id/library/import')
  async importFiles(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const raw = body?.dropboxIds;
    const dropboxIds = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const form = validateForm(ImportFilesDto, { dropboxIds });
    if (form.errors) {
      await this.tracks.owned(user.id, id);
      req.session.flash = {
        kind: 'error',
        message: dropboxIds.length === 0 ? 'Tick the files to import first.' : form.errors[0].message,
      };
      return res.redirect(303, `/tracks/${id}#library`);
    }
    await flashingWith(req, 'Nothing imported', async () => {
      const imported = await this.library.importFiles(user.id, id, form.value.dropboxIds);
      return imported.length ? `Imported ${plural(imported.length, 'file')}.` : 'Those files were already imported.';
    });
    res.redirect(303, `/tracks/${id}#library`);
  }

  @Post('tracks/:id/files/:fileId/master')
  async master(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(MasterForm, body);
    await flashing(req, async () => {
      if (form.errors) throw new BadRequestException({ field: 'master', message: form.errors[0].message });
      if (form.value.master === 'on') {
        const file = await this.library.setMaster(user.id, id, fileId);
        return `${file.name} is now the master.`;
      }
      const file = await this.library.unsetMaster(user.id, id, fileId);
      return `${file.name} is no longer the master.`;
    });
    res.redirect(303, `/tracks/${id}#library`);
  }

  @Post('tracks/:id/files/:fileId/category')
  async category(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
    @Body() body: unknown,
  ) {
    const form = validateForm(UpdateTrackFileDto, body);
    await flashing(req, async () => {
      if (form.errors) throw new BadRequestException({ field: 'category', message: form.errors[0].message });
      const file = await this.library.setCategory(user.id, id, fileId, form.value.category);
      return file.status === 'missing'
        ? `${file.name} is now in ${CATEGORY_FOLDERS[file.category]} here; it is missing in Dropbox, so nothing moved there.`
        : `${file.name} moved to ${CATEGORY_FOLDERS[file.category]}, in your Dropbox too (${file.dropboxPath}).`;
    });
    res.redirect(303, `/tracks/${id}#library`);
  }

  @Post('tracks/:id/files/:fileId/forget')
  async forget(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.library.forget(user.id, id, fileId);
    req.session.flash = {
      kind: 'success',
      message: 'File forgotten. It is still in your Dropbox and listed as not imported.',
    };
    res.redirect(303, `/tracks/${id}#library`);
  }

  // ---- Uploads ------------------------------------------------------------------------------------------------

  @Post('tracks/:id/uploads')
  async upload(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await flashingWith(req, 'Nothing uploaded', async () => {
      const answered = await this.receiver.receive(user.id, id, req);
      const received = answered.filter((u) => u.status !== 'skipped');
      const skipped = answered
        .filter((u) => u.status === 'skipped')
        .map((u) => ` Skipped ${u.fileName.trim() || 'a file'}: ${u.error}.`);
      return `Received ${plural(received.length, 'file')}: now storing ${received.length === 1 ? 'it' : 'them'} in your Dropbox. Reload to see the progress.${skipped.join('')}`;
    });
    res.redirect(303, `/tracks/${id}#uploads`);
  }

  @Post('tracks/:id/uploads/:uploadId/retry')
  async retryUpload(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('uploadId', pageId) uploadId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.tracks.owned(user.id, id);
    await flashing(req, async () => `Retrying ${(await this.uploads.retry(user.id, uploadId)).fileName}.`);
    res.redirect(303, `/tracks/${id}#uploads`);
  }

  @Post('tracks/:id/uploads/:uploadId/discard')
  async discardUpload(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('uploadId', pageId) uploadId: string,
    @Req() req: PageRequest,
    @Res() res: Response,
  ) {
    await this.tracks.owned(user.id, id);
    await flashing(req, async () => `Discarded ${(await this.uploads.discard(user.id, uploadId)).fileName}.`);
    res.redirect(303, `/tracks/${id}#uploads`);
  }
}
