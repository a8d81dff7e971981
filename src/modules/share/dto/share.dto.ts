import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { FILE_CATEGORIES, FileCategory } from '../../files/file-categories';
import { EXPIRY_CHOICES, ExpiryChoice } from '../share-rules';
import { SELECTION_PATTERN } from '../../files/file-selection';

export const MAX_SHARE_TRACKS = 50;

const emptyToNull = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? null : typeof value === 'string' ? value.trim() : value;

export class DownloadsDto {
  @ApiPropertyOptional({ description: 'Recipients may download bounces' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.bounce must be true or false' })
  bounce?: boolean;

  @ApiPropertyOptional({ description: 'Recipients may download projects' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.project must be true or false' })
  project?: boolean;

  @ApiPropertyOptional({ description: 'Recipients may download stems' })
  @IsOptional()
  @IsBoolean({ message: 'downloads.stem must be true or false' })
  stem?: boolean;
}

export class ShareTrackSelectionDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'trackId must be a track id' })
  trackId: string;

  @ApiProperty({
    type: [String],
    description:
      'Files of the track: "f:<file id>" (imported) or "d:<Dropbox id>" (in its folder, imported on creation)',
  })
  @IsArray({ message: 'files must be a list' })
  @ArrayMaxSize(1000, { message: 'files can name at most 1000 files per track' })
  @IsString({ each: true, message: 'each of files must be "f:<file id>" or "d:id:…"' })
  @Matches(SELECTION_PATTERN, { each: true, message: 'each of files must be "f:<file id>" or "d:id:…"' })
  files: string[];

  @ApiPropertyOptional({
    type: [String],
    enum: FILE_CATEGORIES,
    default: [],
    description: 'Categories to follow: every file of them, now and later, is on the link without editing it',
  })
  @IsOptional()
  @IsArray({ message: 'follow must be a list of categories' })
  @ArrayUnique({ message: 'follow must not name a category twice' })
  @IsIn(FILE_CATEGORIES, { each: true, message: `each of follow must be one of ${FILE_CATEGORIES.join(', ')}` })
  follow?: FileCategory[];
}

class ShareSettingsDto {
  @ApiPropertyOptional({
    type: String,
    maxLength: 200,
    nullable: true,
    description: 'Defaults to the track title, or "N tracks"',
  })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'title must be text' })
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  title?: string | null;

  @ApiPropertyOptional({ type: String, maxLength: 2000, nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'message must be text' })
  @MaxLength(2000, { message: 'message must be at most 2000 characters' })
  message?: string | null;

  @ApiPropertyOptional({ enum: EXPIRY_CHOICES, default: '30d' })
  @IsOptional()
  @IsIn(EXPIRY_CHOICES, { message: `expiry must be one of ${EXPIRY_CHOICES.join(', ')}` })
  expiry?: ExpiryChoice;

  @ApiPropertyOptional({
    type: DownloadsDto,
    description: 'Per category; omitted ones follow the tracks\u2019 sharing status',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => DownloadsDto)
  downloads?: DownloadsDto;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description:
      'Download-enabled categories play their originals instead of lossy previews (listen-only ones never do)',
  })
  @IsOptional()
  @IsBoolean({ message: 'streamOriginals must be true or false' })
  streamOriginals?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'Recipients may comment at a time of a file (shown on the waveform)',
  })
  @IsOptional()
  @IsBoolean({ message: 'comments must be true or false' })
  comments?: boolean;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'Every visitor sees every comment; off: each sees their own comments and your replies to them',
  })
  @IsOptional()
  @IsBoolean({ message: 'commentsPublic must be true or false' })
  commentsPublic?: boolean;
}

export class CreateShareDto extends ShareSettingsDto {
  @ApiProperty({ type: [ShareTrackSelectionDto], maxItems: MAX_SHARE_TRACKS })
  @IsArray({ message: 'tracks must be a list' })
  @ArrayMinSize(1, { message: 'tracks must name at least one track' })
  @ArrayMaxSize(MAX_SHARE_TRACKS, { message: `tracks can name at most ${MAX_SHARE_TRACKS} tracks` })
  @ValidateNested({ each: true })
  @Type(() => ShareTrackSelectionDto)
  tracks: ShareTrackSelectionDto[];

  @ApiPropertyOptional({
    type: String,
    format: 'password',
    minLength: 8,
    maxLength: 200,
    description: 'Recipients type it before they see anything',
  })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'password must be text' })
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(200, { message: 'password must be at most 200 characters' })
  password?: string | null;
}

export class UpdateShareDto extends ShareSettingsDto {
  @ApiPropertyOptional({
    type: [ShareTrackSelectionDto],
    maxItems: MAX_SHARE_TRACKS,
    description:
      'The share\u2019s new contents, in order (as on creation): tracks added, removed or reordered, each with its files',
  })
  @IsOptional()
  @IsArray({ message: 'tracks must be a list' })
  @ArrayMinSize(1, { message: 'tracks must name at least one track' })
  @ArrayMaxSize(MAX_SHARE_TRACKS, { message: `tracks can name at most ${MAX_SHARE_TRACKS} tracks` })
  @ValidateNested({ each: true })
  @Type(() => ShareTrackSelectionDto)
  tracks?: ShareTrackSelectionDto[];

  @ApiPropertyOptional({
    type: String,
    format: 'password',
    minLength: 8,
    maxLength: 200,
    nullable: true,
    description: 'A new password; null removes it',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString({ message: 'password must be text' })
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxLength(200, { message: 'password must be at most 200 characters' })
  password?: string | null;
}

export class UnlockShareDto {
  @IsString({ message: 'password is required' })
  @MinLength(1, { message: 'password is required' })
  @MaxLength(200, { message: 'password must be at most 200 characters' })
  password: string;
}

const MAX_SECONDS = 24 * 3600;

/** What the player reports of a play session (a beacon; the numbers arrive as form fields). */
export class ListenBeaconDto {
  @IsUUID('all', { message: 'fileId must be a file id' })
  fileId: string;

  @IsString({ message: 'session must be text' })
  @Matches(/^[A-Za-z0-9_-]{8,64}$/, { message: 'session must be 8 to 64 letters, digits, "-" or "_"' })
  session: string;

  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'heard must be a number of seconds' })
  @Min(0, { message: 'heard must be at least 0' })
  @Max(MAX_SECONDS, { message: `heard must be at most ${MAX_SECONDS} seconds` })
  heard: number;

  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'position must be a number of seconds' })
  @Min(0, { message: 'position must be at least 0' })
  @Max(MAX_SECONDS, { message: `position must be at most ${MAX_SECONDS} seconds` })
  position: number;

  @IsOptional()
  @Type(() => Number)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'duration must be a number of seconds' })
  @Min(0.1, { message: 'duration must be more than 0' })
  @Max(MAX_SECONDS, { message: `duration must be at most ${MAX_SECONDS} seconds` })
  duration?: number;
}

export class CreateRecipientDto {
  @ApiProperty({ maxLength: 200, example: 'Label A', description: 'Shown to them on the page ("Shared with Label A")' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString({ message: 'name is required' })
  @MinLength(1, { message: 'name is required' })
  @MaxLength(200, { message: 'name must be at most 200 characters' })
  name: string;

  @ApiPropertyOptional({ type: String, format: 'email', maxLength: 320, nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320, { message: 'email must be at most 320 characters' })
  email?: string | null;

  @ApiPropertyOptional({
    type: String,
    maxLength: 2000,
    nullable: true,
    description: 'For you only: why or when it was sent',
  })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'note must be text' })
  @MaxLength(2000, { message: 'note must be at most 2000 characters' })
  note?: string | null;

  @ApiPropertyOptional({
    enum: EXPIRY_CHOICES,
    description: 'Their link expires earlier than the share (default: with the share)',
  })
  @IsOptional()
  @IsIn(EXPIRY_CHOICES, { message: `expiry must be one of ${EXPIRY_CHOICES.join(', ')}` })
  expiry?: ExpiryChoice;
}
