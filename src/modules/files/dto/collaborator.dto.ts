import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { DROPBOX_EMAIL_PATTERN, DROPBOX_EMAIL_RULE } from '../../dropbox/dropbox-email';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const emptyToNull = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? (value.trim() === '' ? null : value.trim().toLowerCase()) : value;

export class CollaboratorDto {
  @ApiProperty({ example: 'Sam Rivera' })
  @Transform(trim)
  @IsString({ message: 'name is required' })
  @MinLength(1, { message: 'name is required' })
  @MaxLength(120, { message: 'name must be at most 120 characters' })
  name: string;

  @ApiPropertyOptional({
    type: String,
    format: 'email',
    example: 'sam@example.com',
    nullable: true,
    description: `Without an email they cannot get a Dropbox invite. ${DROPBOX_EMAIL_RULE}.`,
  })
  @Transform(emptyToNull)
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsEmail({}, { message: 'email must be a valid email address (or left empty)' })
  @Matches(DROPBOX_EMAIL_PATTERN, { message: `email: ${DROPBOX_EMAIL_RULE}` })
  @MaxLength(255, { message: 'email must be at most 255 characters (Dropbox takes no longer address)' })
  email?: string | null;

  @ApiProperty({ example: 'mix engineer' })
  @Transform(trim)
  @IsString({ message: 'role is required (e.g. vocalist, mix engineer, co-producer)' })
  @MinLength(1, { message: 'role is required (e.g. vocalist, mix engineer, co-producer)' })
  @MaxLength(60, { message: 'role must be at most 60 characters' })
  role: string;
}

export class AssignCollaboratorDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'collaboratorId must be a collaborator id' })
  collaboratorId: string;
}
