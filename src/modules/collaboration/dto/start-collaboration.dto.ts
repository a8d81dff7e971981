import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { COLLAB_EXPIRY_CHOICES, CollabExpiry } from '../entities/collab-pipeline.entity';
import { SELECTION_PATTERN } from '../../files/file-selection';

export const DISABLED_DOWNLOADS_CHOICES = ['leave_out', 'include'] as const;
export type DisabledDownloadsChoice = (typeof DISABLED_DOWNLOADS_CHOICES)[number];

/** Per category, the same shape and messages as a share link's `downloads` (the collaboration module keeps its own copy). */
export class CollabDownloadsDto {
  @ApiPropertyOptional({ description: 'Bounces go in the folder (collaborators can download them)' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.bounce must be true or false' })
  bounce?: boolean;

  @ApiPropertyOptional({ description: 'Projects go in the folder' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.project must be true or false' })
  project?: boolean;

  @ApiPropertyOptional({ description: 'Stems go in the folder' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.stem must be true or false' })
  stem?: boolean;
}

export class StartCollaborationDto {
  @ApiPropertyOptional({
    type: [String],
    description:
      'Files to put in the shared folder: `f:<file id>` or `d:<Dropbox id>`. May be empty when sharing with remaining collaborators only.',
    example: ['f:7b0c1f0e-3c3a-4d36-9d5b-3f0b8f6f7a10'],
  })
  @IsOptional()
  // A form sends one value as a string and several as an array.
  @Transform(({ value }) =>
    value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? value : [value],
  )
  @IsArray({ message: 'files must be a list of selected files' })
  @ArrayMaxSize(1000, { message: 'files: at most 1000 files at a time' })
  @IsString({ each: true, message: 'files: each item must be a string' })
  @Matches(SELECTION_PATTERN, { each: true, message: 'files: each item must be "f:<file id>" or "d:<Dropbox id>"' })
  files: string[] = [];

  @ApiPropertyOptional({
    enum: ['editor', 'viewer'],
    description: 'Access of invited collaborators (first start only). Viewer needs a paid Dropbox plan.',
  })
  @IsOptional()
  @IsIn(['editor', 'viewer'], { message: 'accessLevel must be "editor" or "viewer"' })
  accessLevel?: 'editor' | 'viewer';

  @ApiPropertyOptional({
    enum: COLLAB_EXPIRY_CHOICES,
    default: 'never',
    description:
      'When the invited collaborators are removed from the folder, counted from the first start (first start only; change it later with PATCH).',
  })
  @IsOptional()
  @IsIn(COLLAB_EXPIRY_CHOICES, { message: `expiry must be one of ${COLLAB_EXPIRY_CHOICES.join(', ')}` })
  expiry?: CollabExpiry;

  @ApiPropertyOptional({
    type: CollabDownloadsDto,
    description:
      'Per category, as for share links (first start only). Dropbox folder members can download every file in the folder, so files of a category set to false are left out of it (see `disabledDownloads`). Omitted categories are downloadable.',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => CollabDownloadsDto)
  downloads?: CollabDownloadsDto;

  @ApiPropertyOptional({
    enum: DISABLED_DOWNLOADS_CHOICES,
    default: 'leave_out',
    description:
      'Files of categories whose downloads are off: `leave_out` of the folder (default), or `include` them anyway (collaborators can then download them). First start only.',
  })
  @IsOptional()
  @IsIn(DISABLED_DOWNLOADS_CHOICES, { message: 'disabledDownloads must be "leave_out" or "include"' })
  disabledDownloads?: DisabledDownloadsChoice;
}

export const UPDATE_EXPIRY_CHOICES = [...COLLAB_EXPIRY_CHOICES, 'now'] as const;
export type UpdateExpiryChoice = (typeof UPDATE_EXPIRY_CHOICES)[number];

export class UpdateCollaborationDto {
  @ApiProperty({
    enum: UPDATE_EXPIRY_CHOICES,
    example: '30d',
    description:
      'A new end counted from now (extend: collaborators removed when access ended are invited again, once each), `never`, or `now` to end access at once.',
  })
  @IsIn(UPDATE_EXPIRY_CHOICES, { message: `expiry must be one of ${UPDATE_EXPIRY_CHOICES.join(', ')}` })
  expiry: UpdateExpiryChoice;
}
