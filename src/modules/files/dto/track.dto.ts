import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { SHARING_STATUSES, SharingStatus } from '../file-categories';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Empty form fields mean "not set". */
const emptyToNull = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? (value.trim() === '' ? null : value.trim()) : value;
const numberOrNull = ({ value }: { value: unknown }) =>
  value === '' || value === null || value === undefined ? null : typeof value === 'string' ? Number(value) : value;

export class TrackFieldsDto {
  @ApiProperty({ maxLength: 200, example: 'Midnight Drive' })
  @Transform(trim)
  @IsString({ message: 'title is required' })
  @MinLength(1, { message: 'title is required' })
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  title: string;

  @ApiPropertyOptional({ type: String, maxLength: 200, nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'artist must be text' })
  @MaxLength(200, { message: 'artist must be at most 200 characters' })
  artist?: string | null;

  @ApiPropertyOptional({ type: 'integer', minimum: 20, maximum: 400, nullable: true })
  @Transform(numberOrNull)
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt({ message: 'bpm must be a whole number between 20 and 400' })
  @Min(20, { message: 'bpm must be a whole number between 20 and 400' })
  @Max(400, { message: 'bpm must be a whole number between 20 and 400' })
  bpm?: number | null;

  @ApiPropertyOptional({ type: String, example: 'F# minor', nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'key must be text such as "F# minor"' })
  @MaxLength(16, { message: 'key must be a musical key such as "F# minor"' })
  key?: string | null;

  @ApiPropertyOptional({ enum: SHARING_STATUSES, default: 'private' })
  @IsOptional()
  @IsIn(SHARING_STATUSES, { message: `sharingStatus must be one of ${SHARING_STATUSES.join(', ')}` })
  sharingStatus?: SharingStatus;
}

export class CreateTrackDto extends TrackFieldsDto {}

export class UpdateTrackDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString({ message: 'title must be text' })
  @MinLength(1, { message: 'title must not be empty' })
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  title?: string;

  @ApiPropertyOptional({ type: String, nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'artist must be text' })
  @MaxLength(200, { message: 'artist must be at most 200 characters' })
  artist?: string | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true })
  @Transform(numberOrNull)
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsInt({ message: 'bpm must be a whole number between 20 and 400' })
  @Min(20, { message: 'bpm must be a whole number between 20 and 400' })
  @Max(400, { message: 'bpm must be a whole number between 20 and 400' })
  bpm?: number | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  @Transform(emptyToNull)
  @IsOptional()
  @IsString({ message: 'key must be text such as "F# minor"' })
  @MaxLength(16, { message: 'key must be a musical key such as "F# minor"' })
  key?: string | null;

  @ApiPropertyOptional({ enum: SHARING_STATUSES })
  @IsOptional()
  @IsIn(SHARING_STATUSES, { message: `sharingStatus must be one of ${SHARING_STATUSES.join(', ')}` })
  sharingStatus?: SharingStatus;
}

export const TRACK_SORTS = ['created', 'updated', 'title', 'artist'] as const;

export class ListTracksQuery {
  @ApiPropertyOptional({ description: 'Search in title and artist' })
  @IsOptional()
  @IsString()
  @MaxLength(200, { message: 'q must be at most 200 characters' })
  q?: string;

  @ApiPropertyOptional({ enum: TRACK_SORTS, default: 'created' })
  @IsOptional()
  @IsIn(TRACK_SORTS, { message: `sort must be one of ${TRACK_SORTS.join(', ')}` })
  sort?: (typeof TRACK_SORTS)[number];

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptional()
  @IsIn(['asc', 'desc'], { message: 'dir must be asc or desc' })
  dir?: 'asc' | 'desc';

  @ApiPropertyOptional({ minimum: 1, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'page must be a whole number from 1' })
  @Min(1, { message: 'page must be a whole number from 1' })
  @Max(100_000, { message: 'page is too large' })
  page?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 25 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'pageSize must be between 1 and 100' })
  @Min(1, { message: 'pageSize must be between 1 and 100' })
  @Max(100, { message: 'pageSize must be between 1 and 100' })
  pageSize?: number;
}
