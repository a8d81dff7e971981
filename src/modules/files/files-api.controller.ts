import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  PayloadTooLargeException,
  Post,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { CollaboratorsService } from './collaborators.service';
import { AssignCollaboratorDto, CollaboratorDto } from './dto/collaborator.dto';
import { ImportFilesDto, RestoreRevisionDto, UpdateTrackFileDto } from './dto/library.dto';
import { CreateTrackDto, ListTracksQuery, UpdateTrackDto } from './dto/track.dto';
import { LibraryService } from './library.service';
import { TracksService } from './tracks.service';
import { UploadReceiver } from './upload-receiver';
import { UploadsService } from './uploads.service';

const uuid = new ParseUUIDPipe();

@ApiTags('tracks')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/tracks')
export class TracksApiController {
  constructor(
    private readonly tracks: TracksService,
    private readonly library: LibraryService,
    private readonly receiver: UploadReceiver,
    private readonly uploads: UploadsService,
    private readonly collaborators: CollaboratorsService,
  ) {}

  @ApiOperation({ summary: 'Your tracks: search, sort, pages' })
  @Get()
  list(@CurrentUser() user: AuthenticatedUser, @Query() query: ListTracksQuery) {
    return this.tracks.list(user.id, query);
  }

  @ApiOperation({ summary: 'Create a track (and its folder in your Dropbox)' })
  @Post()
  create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CreateTrackDto) {
    return this.tracks.create(user.id, dto);
  }

  @ApiOperation({ summary: 'One track' })
  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.tracks.get(user.id, id);
  }

  @ApiOperation({ summary: 'Edit a track (renaming keeps its Dropbox folder)' })
  @Patch(':id')
  update(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() dto: UpdateTrackDto) {
    return this.tracks.update(user.id, id, dto);
  }

  @ApiOperation({ summary: 'Delete a track (its Dropbox folder and files are kept)' })
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    await this.tracks.remove(user.id, id);
  }

  @ApiOperation({ summary: 'Set the artwork (JPEG, PNG or WebP, raw body, at most 15 MB)' })
  @ApiConsumes('image/jpeg', 'image/png', 'image/webp')
  @Put(':id/artwork')
  async artwork(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Req() req: Request) {
    return this.tracks.setArtwork(user.id, id, await readSmallBody(req));
  }

  @ApiOperation({ summary: 'Remove the artwork' })
  @Delete(':id/artwork')
  @HttpCode(204)
  async removeArtwork(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    await this.tracks.removeArtwork(user.id, id);
  }

  @ApiOperation({ summary: "The track's library: imported files and files found in its Dropbox folder" })
  @Get(':id/library')
  getLibrary(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.library.library(user.id, id);
  }

  @ApiOperation({ summary: 'Import files found in the track folder' })
  @Post(':id/library/import')
  importFiles(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() dto: ImportFilesDto) {
    return this.library.importFiles(user.id, id, dto.dropboxIds);
  }

  @ApiOperation({ summary: 'Change the category of an imported file' })
  @Patch(':id/files/:fileId')
  updateFile(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('fileId', uuid) fileId: string,
    @Body() dto: UpdateTrackFileDto,
  ) {
    return this.library.setCategory(user.id, id, fileId, dto.category);
  }

  @ApiOperation({ summary: 'Mark a bounce as the master (players prefer it)' })
  @Post(':id/files/:fileId/master')
  @HttpCode(200)
  master(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Param('fileId', uuid) fileId: string) {
    return this.library.setMaster(user.id, id, fileId);
  }

  @ApiOperation({ summary: "An imported file's revisions in Dropbox, newest first (the current one marked)" })
  @Get(':id/files/:fileId/revisions')
  revisions(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('fileId', uuid) fileId: string,
  ) {
    return this.library.revisions(user.id, id, fileId);
  }

  @ApiOperation({
    summary: 'Make an earlier revision current again (a new revision of the same file; every share serves it)',
  })
  @Post(':id/files/:fileId/restore')
  @HttpCode(200)
  restore(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('fileId', uuid) fileId: string,
    @Body() dto: RestoreRevisionDto,
  ) {
    return this.library.restore(user.id, id, fileId, dto.rev);
  }

  @ApiOperation({ summary: 'Forget an imported file (it stays in Dropbox)' })
  @Delete(':id/files/:fileId')
  @HttpCode(204)
  async forget(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('fileId', uuid) fileId: string,
  ) {
    await this.library.forget(user.id, id, fileId);
  }

  @ApiOperation({
    summary:
      'Upload files (multipart/form-data; optional `category` and `conflict` fields before the files they apply to). ' +
      '`conflict=replace`: a file of the same name in that category gets a new version (same file, same id, on every share); ' +
      '`rename` (default): both are kept, the new one renamed "name (2).ext"',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        category: { type: 'string', enum: ['auto', 'bounce', 'project', 'stem'] },
        conflict: { type: 'string', enum: ['rename', 'replace'], default: 'rename' },
        files: { type: 'array', items: { type: 'string', format: 'binary' } },
      },
    },
  })
  @Post(':id/uploads')
  upload(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Req() req: Request) {
    return this.receiver.receive(user.id, id, req);
  }

  @ApiOperation({ summary: "The track's uploads of the last 24 hours, with progress into Dropbox" })
  @Get(':id/uploads')
  listUploads(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.uploads.list(user.id, id);
  }

  @ApiOperation({ summary: 'Collaborators on the track' })
  @Get(':id/collaborators')
  trackCollaborators(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.collaborators.onTrack(user.id, id);
  }

  @ApiOperation({ summary: 'Put a collaborator on the track' })
  @Post(':id/collaborators')
  assign(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() dto: AssignCollaboratorDto) {
    return this.collaborators.assign(user.id, id, dto.collaboratorId);
  }

  @ApiOperation({ summary: 'Take a collaborator off the track' })
  @Delete(':id/collaborators/:collaboratorId')
  @HttpCode(204)
  async unassign(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', uuid) id: string,
    @Param('collaboratorId', uuid) collaboratorId: string,
  ) {
    await this.collaborators.unassign(user.id, id, collaboratorId);
  }
}

@ApiTags('uploads')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/uploads')
export class UploadsApiController {
  constructor(private readonly uploads: UploadsService) {}

  @ApiOperation({ summary: 'One upload and its progress' })
  @Get(':id')
  get(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.uploads.get(user.id, id);
  }

  @ApiOperation({ summary: 'Retry a failed upload from where it stopped' })
  @Post(':id/retry')
  @HttpCode(200)
  retry(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.uploads.retry(user.id, id);
  }

  @ApiOperation({ summary: 'Discard a failed upload: the file waiting on the server is deleted' })
  @Delete(':id')
  discard(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    return this.uploads.discard(user.id, id);
  }
}

@ApiTags('collaborators')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('api/v1/collaborators')
export class CollaboratorsApiController {
  constructor(private readonly collaborators: CollaboratorsService) {}

  @ApiOperation({ summary: 'Your collaborators' })
  @Get()
  list(@CurrentUser() user: AuthenticatedUser) {
    return this.collaborators.list(user.id);
  }

  @ApiOperation({ summary: 'Add a collaborator (email optional: without it, no Dropbox invite)' })
  @Post()
  create(@CurrentUser() user: AuthenticatedUser, @Body() dto: CollaboratorDto) {
    return this.collaborators.create(user.id, dto);
  }

  @ApiOperation({ summary: 'Edit a collaborator' })
  @Put(':id')
  update(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string, @Body() dto: CollaboratorDto) {
    return this.collaborators.update(user.id, id, dto);
  }

  @ApiOperation({ summary: 'Delete a collaborator (taken off every track)' })
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('id', uuid) id: string) {
    await this.collaborators.remove(user.id, id);
  }
}

/** A raw request body of at most 16 MB (artwork), read into memory. */
export async function readSmallBody(req: Request, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    throw new PayloadTooLargeException({ field: 'artwork', message: 'artwork must be at most 15 MB' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new PayloadTooLargeException({ field: 'artwork', message: 'artwork must be at most 15 MB' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
