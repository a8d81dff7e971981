import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
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
}
