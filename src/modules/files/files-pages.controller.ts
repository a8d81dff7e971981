import {
  ArgumentsHost,
  BadRequestException,
  Body,
  Catch,
  Controller,
  ExceptionFilter,
  Get,
  HttpException,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
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
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { errorsByField, validateForm } from '../../common/http/validation';
import { formatBytes, formatDuration } from '../../common/views/handlebars';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { DropboxError } from '../dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { MAX_ARTWORK_BYTES } from './artwork';
import { CollaboratorsService, CollaboratorWithTracks } from './collaborators.service';
import { AssignCollaboratorDto, CollaboratorDto } from './dto/collaborator.dto';
import { ImportFilesDto, UpdateTrackFileDto } from './dto/library.dto';
import { CreateTrackDto, ListTracksQuery, TRACK_SORTS, UpdateTrackDto } from './dto/track.dto';
import { CATEGORY_FOLDERS, DEFAULT_DOWNLOADS, FILE_CATEGORIES, FileCategory, isAudio, SHARING_STATUSES, SharingStatus } from './file-categories';
import { Library, LibraryItem, LibraryService } from './library.service';
import { TracksService } from './tracks.service';
import { UploadsService, UploadView } from './uploads.service';
import { AudioInfo, TrackView } from './views';

// multer ships without types here; its memory storage keeps the (size-limited) artwork in a Buffer for sharp.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { memoryStorage } = require('multer') as { memoryStorage: () => unknown };

/** A page 404 for ids that aren't UUIDs, like any other unknown track. */
const pageId = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('not found') });

type PageRequest = Request & { user?: AuthenticatedUser };
type Fields = Record<string, string>;
interface UploadedImage {
  buffer: Buffer;
  size: number;
}

export const STATUS_MEANINGS: Record<SharingStatus, string> = {
  private: 'Work in progress: listen only',
  preview: 'For curators, labels, A&R',
  collaborative: 'For engineers and co-producers',
  released: 'Final: masters and stems for remixes',
};

const SORT_LABELS: Record<(typeof TRACK_SORTS)[number], string> = {
  created: 'Date created',
  updated: 'Last changed',
  title: 'Title',
  artist: 'Artist',
};

const CATEGORY_LABELS: Record<FileCategory, string> = { bounce: 'Bounce', project: 'Project', stem: 'Stem' };

/** Deleting a track needs a ticked box, so a stray click can't do it (works without JavaScript). */
class DeleteTrackForm {
  @IsIn(['yes'], { message: 'tick the box to confirm' })
  confirm: string;
}

class MasterForm {
  @IsIn(['on', 'off'], { message: 'master must be on or off' })
  master: 'on' | 'off';
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Form values as typed, for filling the form in again after a refusal. */
function typedFields(body: unknown, names: string[]): Fields {
  const record = (body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(names.map((n) => [n, typeof record[n] === 'string' ? (record[n] as string) : '']));
}

/**
 * The field errors a service refusal carries (`{field, message}` or `{errors}`), or a form-level `_form` message
 * for Dropbox trouble; null for anything else (a 404, a bug), which the caller rethrows.
 */
function refusal(err: unknown): Record<string, string> | null {
  if (err instanceof DropboxError) return { _form: err.message };
  if (!(err instanceof HttpException) || ![400, 409, 413].includes(err.getStatus())) return null;
  const body = err.getResponse() as { message?: unknown; field?: string; errors?: Array<{ field: string; message: string }> } | string;
  if (typeof body === 'string') return { _form: body };
  if (body.errors?.length) return errorsByField(body.errors);
  const message = Array.isArray(body.message) ? body.message.join('; ') : String(body.message ?? err.message);
  return body.field ? { [body.field]: message } : { _form: message };
}

/** The message of a refusal, in one sentence, for a flash. */
function refusalMessage(err: unknown): string | null {
  const errors = refusal(err);
  return errors ? Object.values(errors).join('; ') : null;
}

function sharingStatusRows(selected: string | undefined) {
  return SHARING_STATUSES.map((value) => ({
    value,
    label: capitalize(value),
    meaning: STATUS_MEANINGS[value],
    bounce: DEFAULT_DOWNLOADS[value].bounce ? 'download' : 'listen only',
    project: DEFAULT_DOWNLOADS[value].project ? 'download' : 'no download',
    stem: DEFAULT_DOWNLOADS[value].stem ? 'download' : 'listen only',
    checked: value === (selected || 'private'),
  }));
}

function fileCountsText(counts: Record<FileCategory, number>): string {
  return [plural(counts.bounce, 'bounce'), plural(counts.project, 'project'), plural(counts.stem, 'stem')].join(' · ');
}

function trackRow(track: TrackView) {
  return {
    id: track.id,
    title: track.title,
    artist: track.artist,
    sharingStatus: track.sharingStatus,
    statusLabel: capitalize(track.sharingStatus),
    artworkSmallUrl: track.artworkSmallUrl,
    bpm: track.bpm,
    key: track.key,
    filesText: fileCountsText(track.fileCounts),
    collaboratorsText: track.collaborators.map((c) => c.name).join(', '),
    updatedAt: track.updatedAt,
  };
}

function audioText(audio: AudioInfo | null): string {
  if (!audio) return '';
  const parts: string[] = [];
  if (audio.sampleRate) parts.push(`${audio.sampleRate % 1000 === 0 ? audio.sampleRate / 1000 : (audio.sampleRate / 1000).toFixed(1)} kHz`);
  if (audio.bitsPerSample) parts.push(`${audio.bitsPerSample}-bit`);
  if (audio.channels) parts.push(audio.channels === 1 ? 'mono' : audio.channels === 2 ? 'stereo' : `${audio.channels} channels`);
  return parts.join(' · ');
}

function libraryRow(item: LibraryItem, folderPath: string | null) {
  const missing = item.status === 'missing';
  // A missing file is known by its last full Dropbox path; show it relative to the track folder like the rest.
  const prefix = folderPath ? `${folderPath.toLowerCase()}/` : null;
  const relativePath = prefix && item.relativePath.toLowerCase().startsWith(prefix) ? item.relativePath.slice(prefix.length) : item.relativePath;
  return {
    key: (item.id ?? item.dropboxId).replace(/[^A-Za-z0-9_-]/g, '_'),
    id: item.id,
    dropboxId: item.dropboxId,
    name: item.name,
    relativePath,
    format: item.format,
    sizeText: formatBytes(item.size),
    durationText: item.audio?.durationSeconds != null ? formatDuration(item.audio.durationSeconds) : '',
    audioText: audioText(item.audio),
    hasAudio: Boolean(item.audio),
    imported: item.imported,
    missing,
    cantServe: item.cantServe,
    isMaster: item.isMaster,
    canBeMaster: item.imported && !missing && item.category === 'bounce' && !item.isPackage && isAudio(item.name),
    modifiedAt: item.modifiedAt,
    hasVersions: item.imported && !missing && !item.isPackage,
    categoryOptions: FILE_CATEGORIES.map((value) => ({ value, label: CATEGORY_LABELS[value], selected: value === item.category })),
  };
}

function libraryGroups(library: Library) {
  return FILE_CATEGORIES.map((category) => {
    const items = library.items
      .filter((i) => i.category === category)
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }))
      .map((item) => libraryRow(item, library.folderPath));
    return {
      category,
      title: CATEGORY_FOLDERS[category],
      items,
      count: items.length,
      emptyText: `No ${CATEGORY_FOLDERS[category].toLowerCase()} yet.`,
      notImported: items.some((i) => !i.imported),
    };
  });
}

/** The upload limit as configured (MAX_UPLOAD_MB is in binary megabytes): "20 GB", "500 MB". */
function binarySize(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GB` : `${Math.round(bytes / 2 ** 20)} MB`;
}

function uploadRow(upload: UploadView) {
  const statusText =
    upload.status === 'failed'
      ? 'failed'
      : upload.status === 'queued'
        ? upload.error
          ? 'waiting to retry'
          : 'waiting to be stored in Dropbox'
        : `storing in Dropbox: ${upload.percent}%`;
  return { ...upload, sizeText: formatBytes(upload.size), statusText, failed: upload.status === 'failed' };
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
 * The producer's pages for tracks, their libraries and collaborators. Server-rendered forms that work without
 * JavaScript; public/js/upload.js and track-page.js only enhance them. Form posts answer with the page again
 * (400, messages beside the fields) or a redirect with a flash — never a JSON error.
 */
@ApiExcludeController()
@Controller()
export class FilesPagesController {
  constructor(
    private readonly tracks: TracksService,
    private readonly library: LibraryService,
    private readonly uploads: UploadsService,
    private readonly collaborators: CollaboratorsService,
    private readonly dropbox: DropboxConnectionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  // ---- Tracks list ------------------------------------------------------------------------------------------

  @Get('tracks')
  @Render('dashboard/tracks')
  tracksPage(@CurrentUser() user: AuthenticatedUser, @Query() query: Record<string, unknown>) {
    return this.tracksModel(user, query);
  }

  @Post('tracks')
  async createTrack(@CurrentUser() user: AuthenticatedUser, @Req() req: PageRequest, @Res() res: Response, @Body() body: unknown) {
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
      const fields = typedFields(body, ['title', 'artist', 'bpm', 'key', 'sharingStatus']);
      return res.status(400).render('dashboard/tracks', await this.tracksModel(user, {}, { form: fields, errors }));
    }
    req.session.flash = { kind: 'success', message: `Track “${created.title}” created, with its folder in your Dropbox.` };
    res.redirect(303, `/tracks/${created.id}`);
  }

  // ---- One track ---------------------------------------------------------------------------------------------

  @Get('tracks/:id')
  @Render('dashboard/track')
  trackPage(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string) {
    return this.trackModel(user, id);
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
    const editForm = typedFields(body, ['title', 'artist', 'bpm', 'key', 'sharingStatus']);
    return this.renderTrack(res, user, id, { editForm, editErrors: errors });
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
    if (form.errors) return this.renderTrack(res, user, id, { deleteErrors: errorsByField(form.errors) });
    const track = await this.tracks.get(user.id, id);
    await this.tracks.remove(user.id, id);
    req.session.flash = { kind: 'success', message: `Track “${track.title}” deleted. Its Dropbox folder and files are still in your Dropbox.` };
    res.redirect(303, '/tracks');
  }

  /** Artwork as a plain multipart form (the CSRF token rides in the action URL: guards run before multer). */
  @Post('tracks/:id/artwork')
  @UseFilters(ArtworkRefusedFilter)
  @UseInterceptors(FileInterceptor('artwork', { storage: memoryStorage(), limits: { fileSize: MAX_ARTWORK_BYTES, files: 1, fields: 5 } }))
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
  async removeArtwork(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string, @Req() req: PageRequest, @Res() res: Response) {
    await this.tracks.removeArtwork(user.id, id);
    req.session.flash = { kind: 'success', message: 'Artwork removed.' };
    res.redirect(303, `/tracks/${id}#artwork`);
  }

  /** The owner's artwork images (share pages serve their own, behind the share's access check). */
  @Get('tracks/:id/artwork/:size')
  async artwork(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string, @Param('size') size: string, @Res() res: Response) {
    if (size !== 'large' && size !== 'small') throw new NotFoundException('not found');
    await this.tracks.owned(user.id, id);
    const image = await this.tracks.artwork(id, size);
    if (!image) throw new NotFoundException('this track has no artwork');
    // The URL carries the artwork version, so the browser may keep it.
    res.set('Cache-Control', 'private, max-age=31536000, immutable').type('image/jpeg').send(image);
  }

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
      req.session.flash = { kind: 'error', message: dropboxIds.length === 0 ? 'Tick the files to import first.' : form.errors[0].message };
      return res.redirect(303, `/tracks/${id}#library`);
    }
    try {
      const imported = await this.library.importFiles(user.id, id, form.value.dropboxIds);
      req.session.flash = {
        kind: 'success',
        message: imported.length ? `Imported ${plural(imported.length, 'file')}.` : 'Those files were already imported.',
      };
    } catch (err) {
      const message = refusalMessage(err);
      if (!message) throw err;
      req.session.flash = { kind: 'error', message: `Nothing imported: ${message}.` };
    }
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
    await this.flashing(req, async () => {
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
    await this.flashing(req, async () => {
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
    req.session.flash = { kind: 'success', message: 'File forgotten. It is still in your Dropbox and listed as not imported.' };
    res.redirect(303, `/tracks/${id}#library`);
  }

  // ---- Uploads (the form without JavaScript; upload.js sends each file to the JSON API instead) ---------------

  @Post('tracks/:id/uploads')
  async upload(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string, @Req() req: PageRequest, @Res() res: Response) {
    try {
      const answered = await this.uploads.receive(user.id, id, req);
      const received = answered.filter((u) => u.status !== 'skipped');
      const skipped = answered.filter((u) => u.status === 'skipped').map((u) => ` Skipped ${u.fileName.trim() || 'a file'}: ${u.error}.`);
      req.session.flash = {
        kind: 'success',
        message: `Received ${plural(received.length, 'file')}: now storing ${received.length === 1 ? 'it' : 'them'} in your Dropbox. Reload to see the progress.${skipped.join('')}`,
      };
    } catch (err) {
      const message = refusalMessage(err);
      if (!message) throw err;
      req.session.flash = { kind: 'error', message: `Nothing uploaded: ${message}.` };
    }
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
    await this.flashing(req, async () => `Retrying ${(await this.uploads.retry(user.id, uploadId)).fileName}.`);
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
    await this.flashing(req, async () => `Discarded ${(await this.uploads.discard(user.id, uploadId)).fileName}.`);
    res.redirect(303, `/tracks/${id}#uploads`);
  }

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
    let errors: Record<string, string> | null = form.errors ? { collaboratorId: 'choose a collaborator' } : null;
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
    return this.renderTrack(res, user, id, { assignErrors: errors });
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
        const created = await this.collaborators.create(user.id, form.value);
        await this.collaborators.assign(user.id, id, created.id);
        req.session.flash = { kind: 'success', message: `${created.name} added to your collaborators and to this track.` };
        return res.redirect(303, `/tracks/${id}#collaborators`);
      } catch (err) {
        if (!(errors = refusal(err))) throw err;
      }
    }
    return this.renderTrack(res, user, id, { newCollaborator: typedFields(body, ['name', 'email', 'role']), newCollaboratorErrors: errors });
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
  collaboratorsPage(@CurrentUser() user: AuthenticatedUser) {
    return this.collaboratorsModel(user);
  }

  @Post('collaborators')
  async createCollaborator(@CurrentUser() user: AuthenticatedUser, @Req() req: PageRequest, @Res() res: Response, @Body() body: unknown) {
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
    res.status(400).render('dashboard/collaborators', await this.collaboratorsModel(user, { form: typedFields(body, ['name', 'email', 'role']), errors }));
  }

  @Get('collaborators/:id/edit')
  @Render('dashboard/collaborators-edit')
  async editCollaboratorPage(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string) {
    const collaborator = await this.ownCollaborator(user, id);
    return this.collaboratorEditModel(collaborator, { name: collaborator.name, email: collaborator.email ?? '', role: collaborator.role }, null);
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
    res.status(400).render('dashboard/collaborators-edit', this.collaboratorEditModel(collaborator, typedFields(body, ['name', 'email', 'role']), errors));
  }

  @Post('collaborators/:id/delete')
  async deleteCollaborator(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string, @Req() req: PageRequest, @Res() res: Response) {
    const collaborator = await this.ownCollaborator(user, id);
    await this.collaborators.remove(user.id, id);
    req.session.flash = { kind: 'success', message: `${collaborator.name} deleted and taken off every track.` };
    res.redirect(303, '/collaborators');
  }

  // ---- View models ---------------------------------------------------------------------------------------------

  private async dropboxState(userId: string) {
    const status = await this.dropbox.status(userId);
    return { dropboxReady: status.connected && status.status === 'active', dropboxExpired: status.connected && status.status !== 'active' };
  }

  private async tracksModel(user: AuthenticatedUser, rawQuery: Record<string, unknown>, extra: { form?: Fields; errors?: Record<string, string> | null } = {}) {
    const pick = (name: string) => (typeof rawQuery[name] === 'string' && rawQuery[name] !== '' ? (rawQuery[name] as string) : undefined);
    const wanted = { q: pick('q'), sort: pick('sort'), dir: pick('dir'), page: pick('page') };
    const checked = validateForm(ListTracksQuery, Object.fromEntries(Object.entries(wanted).filter(([, v]) => v !== undefined)));
    // A hand-edited query string falls back to the defaults rather than an error page.
    const query: ListTracksQuery = checked.value ?? {};
    const page = await this.tracks.list(user.id, { ...query, pageSize: 20 });
    const link = (n: number, selectAll = false) => {
      const params = new URLSearchParams();
      if (query.q) params.set('q', query.q);
      if (query.sort) params.set('sort', query.sort);
      if (query.dir) params.set('dir', query.dir);
      if (n > 1) params.set('page', String(n));
      // Without JavaScript, "Select all" is this page again with every box ticked.
      if (selectAll) params.set('select', 'all');
      const text = params.toString();
      return text ? `/tracks?${text}` : '/tracks';
    };
    const form = extra.form ?? { title: '', artist: '', bpm: '', key: '', sharingStatus: 'private' };
    return {
      title: 'Tracks',
      nav: 'tracks',
      ...(await this.dropboxState(user.id)),
      query: { q: query.q ?? '' },
      queryInvalid: Boolean(checked.errors),
      sortOptions: TRACK_SORTS.map((value) => ({ value, label: SORT_LABELS[value], selected: value === (query.sort ?? 'created') })),
      dirOptions: [
        { value: '', label: 'Default order', selected: !query.dir },
        { value: 'asc', label: 'Ascending', selected: query.dir === 'asc' },
        { value: 'desc', label: 'Descending', selected: query.dir === 'desc' },
      ],
      tracks: page.items.map(trackRow),
      selectAll: rawQuery.select === 'all',
      selectAllUrl: `${link(page.page, true)}#list-title`,
      total: page.total,
      totalText: plural(page.total, 'track'),
      searching: Boolean(query.q),
      page: page.page,
      pages: page.pages,
      paged: page.pages > 1,
      prevUrl: page.page > 1 ? link(Math.min(page.page - 1, page.pages)) : null,
      nextUrl: page.page < page.pages ? link(page.page + 1) : null,
      form,
      errors: extra.errors ?? null,
      statuses: sharingStatusRows(form.sharingStatus),
      dropboxRoot: this.config.files.dropboxRoot,
    };
  }

  private async trackModel(user: AuthenticatedUser, id: string, extra: Record<string, unknown> = {}) {
    // The library first: it 404s for someone else's track, and refreshes the folder's path when it moved.
    let library: Library | null = null;
    let libraryError: string | null = null;
    try {
      library = await this.library.library(user.id, id);
    } catch (err) {
      if (!(err instanceof DropboxError)) throw err;
      libraryError = err.message;
    }
    const track = await this.tracks.get(user.id, id);
    const all = await this.collaborators.list(user.id);
    const uploads = await this.uploads.list(user.id, id);
    const dropbox = await this.dropboxState(user.id);
    const onTrack = new Set(track.collaborators.map((c) => c.id));
    const groups = library ? libraryGroups(library) : [];
    const items = library?.items ?? [];
    const editForm = (extra.editForm as Fields | undefined) ?? {
      title: track.title,
      artist: track.artist ?? '',
      bpm: track.bpm == null ? '' : String(track.bpm),
      key: track.key ?? '',
      sharingStatus: track.sharingStatus,
    };
    return {
      title: track.title,
      nav: 'tracks',
      ...dropbox,
      track: {
        ...trackRow(track),
        artworkUrl: track.artworkUrl,
        meaning: STATUS_MEANINGS[track.sharingStatus],
        dropboxFolderPath: library?.folderPath ?? track.dropboxFolderPath,
        createdAt: track.createdAt,
      },
      library: library && {
        folderMissing: library.folderMissing,
        groups,
        total: items.length,
        summary: [
          plural(items.length, 'file'),
          ...(items.some((i) => !i.imported) ? [`${items.filter((i) => !i.imported).length} not imported`] : []),
          ...(items.some((i) => i.status === 'missing') ? [`${items.filter((i) => i.status === 'missing').length} missing`] : []),
        ].join(' · '),
        hasNotImported: items.some((i) => !i.imported),
      },
      libraryError,
      uploads: uploads.filter((u) => u.status !== 'done').map(uploadRow),
      maxUploadText: binarySize(this.config.files.maxUploadBytes),
      categoryChoices: [
        { value: 'auto', label: 'Automatic (by file type)' },
        ...FILE_CATEGORIES.map((value) => ({ value, label: `${CATEGORY_FOLDERS[value]}` })),
      ],
      // Names already in each category, so the upload form can ask "Replace or keep both?" before sending.
      existingNames: JSON.stringify(
        Object.fromEntries(FILE_CATEGORIES.map((c) => [c, items.filter((i) => i.category === c && i.status !== 'missing').map((i) => i.name.toLowerCase())])),
      ),
      trackCollaborators: track.collaborators,
      availableCollaborators: all.filter((c) => !onTrack.has(c.id)),
      hasAnyCollaborators: all.length > 0,
      editForm,
      statuses: sharingStatusRows(editForm.sharingStatus),
      newCollaborator: { name: '', email: '', role: '' },
      ...extra,
    };
  }

  private async renderTrack(res: Response, user: AuthenticatedUser, id: string, extra: Record<string, unknown>) {
    const model = await this.trackModel(user, id, extra);
    res.status(400).render('dashboard/track', model);
  }

  private async collaboratorsModel(user: AuthenticatedUser, extra: { form?: Fields; errors?: Record<string, string> | null } = {}) {
    const list = await this.collaborators.list(user.id);
    return {
      title: 'Collaborators',
      nav: 'collaborators',
      collaborators: list.map((c) => ({ ...c, tracksText: plural(c.trackCount, 'track') })),
      form: extra.form ?? { name: '', email: '', role: '' },
      errors: extra.errors ?? null,
    };
  }

  private collaboratorEditModel(collaborator: CollaboratorWithTracks, form: Fields, errors: Record<string, string> | null) {
    return { title: `Edit ${collaborator.name}`, nav: 'collaborators', collaborator, tracksText: plural(collaborator.trackCount, 'track'), form, errors };
  }

  private async ownCollaborator(user: AuthenticatedUser, id: string): Promise<CollaboratorWithTracks> {
    const found = (await this.collaborators.list(user.id)).find((c) => c.id === id);
    if (!found) throw new NotFoundException('collaborator not found');
    return found;
  }

  /** Runs a one-button action and says how it went in a flash; refusals become the message. */
  private async flashing(req: PageRequest, action: () => Promise<string>): Promise<void> {
    try {
      req.session.flash = { kind: 'success', message: await action() };
    } catch (err) {
      const message = refusalMessage(err);
      if (!message) throw err;
      req.session.flash = { kind: 'error', message: capitalize(message.replace(/\.$/, '')) + '.' };
    }
  }
}
