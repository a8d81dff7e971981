import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateBy } from 'class-validator';
import { UUID_PATTERN } from '../../../common/ids';

export const COMMENT_MAX_CHARS = 2000;
export const COMMENT_NAME_MAX_CHARS = 100;
/** No file is longer than a day; the file's own duration is checked against it when known. */
const MAX_AT_SECONDS = 24 * 3600;

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** A recipient's comment, from the page's form (urlencoded, every value a string) or from its script (JSON). */
export class PostCommentDto {
  @IsString({ message: 'fileId is required' })
  @Matches(UUID_PATTERN, { message: 'fileId must be the id of a file of this share' })
  fileId: string;

  /** Seconds from the start of the file; the form may send `1:23` as well as `83` or `83.4`. */
  @Transform(({ value }) => parseTime(value))
  // One check with one message: a missing time is not also "negative" and "past the end".
  @ValidateBy({
    name: 'commentTime',
    validator: {
      validate: (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_AT_SECONDS,
      defaultMessage: (args) =>
        typeof args?.value !== 'number' || !Number.isFinite(args.value)
          ? 'at must be a time in seconds (or m:ss) from the start of the file'
          : args.value < 0
            ? 'at must not be negative'
            : 'at must be within the file',
    },
  })
  at: number;

  @Transform(trimmed)
  @IsString({ message: 'body is required' })
  @MinLength(1, { message: 'body is required: write your comment' })
  @MaxLength(COMMENT_MAX_CHARS, { message: `body must be at most ${COMMENT_MAX_CHARS} characters` })
  body: string;

  /** Required on the share's own link; a per-recipient link knows who it is given to. */
  @Transform(trimmed)
  @IsOptional()
  @IsString({ message: 'name must be text' })
  @MaxLength(COMMENT_NAME_MAX_CHARS, { message: `name must be at most ${COMMENT_NAME_MAX_CHARS} characters` })
  name?: string;
}

export class ReplyCommentDto {
  @ApiProperty({ maxLength: COMMENT_MAX_CHARS })
  @Transform(trimmed)
  @IsString({ message: 'body is required' })
  @MinLength(1, { message: 'body is required: write your reply' })
  @MaxLength(COMMENT_MAX_CHARS, { message: `body must be at most ${COMMENT_MAX_CHARS} characters` })
  body: string;
}

export class ResolveCommentDto {
  @ApiPropertyOptional({ type: Boolean, default: true, description: 'false reopens a resolved comment' })
  @IsOptional()
  @IsBoolean({ message: 'resolved must be true or false' })
  resolved?: boolean;
}

/** "Ask for more time" on an expired link's page. */
export class AskForMoreTimeDto {
  @Transform(trimmed)
  @IsString({ message: 'name is required' })
  @MinLength(1, { message: 'name is required: say who you are' })
  @MaxLength(COMMENT_NAME_MAX_CHARS, { message: `name must be at most ${COMMENT_NAME_MAX_CHARS} characters` })
  name: string;

  @Transform(trimmed)
  @IsOptional()
  @IsString({ message: 'message must be text' })
  @MaxLength(COMMENT_MAX_CHARS, { message: `message must be at most ${COMMENT_MAX_CHARS} characters` })
  message?: string;
}

/** `83`, `83.4`, `1:23` or `1:02:03` as seconds; anything else stays as given (and fails validation). */
export function parseTime(value: unknown): unknown {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return value;
  const s = value.trim();
  if (/^-?\d+(?:\.\d+)?$/.test(s)) return Number(s);
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$/.exec(s);
  if (m) return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return value;
}
