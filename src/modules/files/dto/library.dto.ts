import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, Matches } from 'class-validator';
import { FILE_CATEGORIES, FileCategory } from '../file-categories';

export class ImportFilesDto {
  @ApiProperty({
    type: [String],
    description: 'Dropbox ids ("id:…") of files found in the track folder',
    example: ['id:a4ayc_80_OEAAAAAAAAAXw'],
  })
  @IsArray({ message: 'dropboxIds must be a list of Dropbox file ids' })
  @ArrayMinSize(1, { message: 'dropboxIds must name at least one file' })
  @ArrayMaxSize(1000, { message: 'dropboxIds can name at most 1000 files' })
  @IsString({ each: true, message: 'each of dropboxIds must be a Dropbox id like "id:…"' })
  @Matches(/^id:[A-Za-z0-9_-]{1,100}$/, { each: true, message: 'each of dropboxIds must be a Dropbox id like "id:…"' })
  dropboxIds: string[];
}

export class UpdateTrackFileDto {
  @ApiProperty({ enum: FILE_CATEGORIES })
  @IsIn(FILE_CATEGORIES, { message: `category must be one of ${FILE_CATEGORIES.join(', ')}` })
  category: FileCategory;
}

export class RestoreRevisionDto {
  @ApiProperty({
    description: 'A revision of the file, as listed by its revisions route',
    example: '015f1e3c9a8b00000000001',
  })
  @IsString({ message: 'rev must be a revision id' })
  @Matches(/^[0-9a-f]{9,64}$/, { message: 'rev must be a revision id' })
  rev: string;
}
