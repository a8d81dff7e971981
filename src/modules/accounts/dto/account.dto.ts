import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { TOKEN_SCOPES, TokenScope } from '../entities/api-token.entity';
import { MIN_PASSWORD_LENGTH } from '../passwords';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class SignInDto {
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  @Transform(trim)
  email: string;

  @IsString({ message: 'password is required' })
  @MinLength(1, { message: 'password is required' })
  @MaxLength(1024)
  password: string;

  @IsOptional()
  @IsString()
  @MaxLength(2048)
  next?: string;
}

export class NewAccountDto {
  @ApiProperty({ example: 'Ana Producer' })
  @IsString({ message: 'name is required' })
  @Transform(trim)
  @MinLength(1, { message: 'name is required' })
  @MaxLength(120, { message: 'name must be at most 120 characters' })
  name: string;

  @ApiProperty({ example: 'ana@studio.example' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320, { message: 'email must be at most 320 characters' })
  @Transform(trim)
  email: string;

  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH })
  @IsString({ message: `password must be at least ${MIN_PASSWORD_LENGTH} characters` })
  @MinLength(MIN_PASSWORD_LENGTH, { message: `password must be at least ${MIN_PASSWORD_LENGTH} characters` })
  @MaxLength(1024, { message: 'password must be at most 1024 characters' })
  password: string;
}

export class CreateUserDto extends NewAccountDto {
  @ApiProperty({ enum: ['producer', 'admin'], default: 'producer' })
  @IsIn(['producer', 'admin'], { message: 'role must be "producer" or "admin"' })
  role: 'producer' | 'admin' = 'producer';
}

export class UpdateUserDto {
  @ApiProperty()
  @IsBoolean({ message: 'disabled must be true or false' })
  disabled: boolean;
}

export class CreateTokenDto {
  @ApiProperty({ example: 'CI upload script' })
  @IsString({ message: 'name is required' })
  @Transform(trim)
  @MinLength(1, { message: 'name is required' })
  @MaxLength(80, { message: 'name must be at most 80 characters' })
  name: string;

  @ApiPropertyOptional({
    enum: TOKEN_SCOPES,
    default: 'full',
    description: '`read`: GET only; `full`: every API call except creating tokens',
  })
  @IsOptional()
  @IsIn(TOKEN_SCOPES, { message: 'scope must be "read" or "full"' })
  scope?: TokenScope;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 3650,
    description: 'Days until the token stops working; omit for a token that does not expire',
  })
  @Transform(({ value }) =>
    value === '' || value === 'never' || value === null
      ? undefined
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : value,
  )
  @IsOptional()
  @IsInt({ message: 'expiresInDays must be a whole number of days from 1 to 3650' })
  @Min(1, { message: 'expiresInDays must be a whole number of days from 1 to 3650' })
  @Max(3650, { message: 'expiresInDays must be a whole number of days from 1 to 3650' })
  expiresInDays?: number;
}
