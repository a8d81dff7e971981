import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches } from 'class-validator';

/** A Share-tab selection item: an imported file (`f:<TrackFile id>`) or one found in Dropbox (`d:<Dropbox id>`). */
const SELECTION_ITEM = /^(f:[0-9a-f-]{36}|d:id:[A-Za-z0-9_-]{1,100})$/;

export class StartCollaborationDto {
  @ApiPropertyOptional({
    type: [String],
    description: 'Files to put in the shared folder: `f:<file id>` or `d:<Dropbox id>`. May be empty when sharing with remaining collaborators only.',
    example: ['f:7b0c1f0e-3c3a-4d36-9d5b-3f0b8f6f7a10'],
  })
  @IsOptional()
  // A form sends one value as a string and several as an array.
  @Transform(({ value }) => (value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? value : [value]))
  @IsArray({ message: 'files must be a list of selected files' })
  @ArrayMaxSize(1000, { message: 'files: at most 1000 files at a time' })
  @IsString({ each: true, message: 'files: each item must be a string' })
  @Matches(SELECTION_ITEM, { each: true, message: 'files: each item must be "f:<file id>" or "d:<Dropbox id>"' })
  files: string[] = [];

  @ApiPropertyOptional({ enum: ['editor', 'viewer'], description: 'Access of invited collaborators (first start only). Viewer needs a paid Dropbox plan.' })
  @IsOptional()
  @IsIn(['editor', 'viewer'], { message: 'accessLevel must be "editor" or "viewer"' })
  accessLevel?: 'editor' | 'viewer';
}
