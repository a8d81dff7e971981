import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { FieldError } from './http-exception.filter';

function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...fieldErrors(e.children ?? [], field)];
  });
}

/** 400 naming each field and why; unknown fields are refused rather than silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const list = fieldErrors(errors);
      return new BadRequestException({ message: list.map((e) => e.message).join('; '), errors: list });
    },
  });
}

/**
 * Form posts validate by hand so the page can be rendered again with the messages beside the fields.
 * The CSRF field is not part of any DTO.
 */
export function validateForm<T extends object>(
  dto: new () => T,
  body: unknown,
): { value: T; errors: null } | { value: null; errors: FieldError[] } {
  const { _csrf, ...fields } = (body ?? {}) as Record<string, unknown>;
  void _csrf;
  const value = plainToInstance(dto, fields);
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true });
  return errors.length ? { value: null, errors: fieldErrors(errors) } : { value, errors: null };
}

/** `{ email: 'message' }` for templates. */
export function errorsByField(errors: FieldError[] | null): Record<string, string> {
  return Object.fromEntries((errors ?? []).map((e) => [e.field, e.message]));
}
