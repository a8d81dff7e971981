/**
 * How the producer's form pages answer: a refused form comes back with messages beside its fields, a one-button
 * action with a flash. One helper for every page controller of the files module, so refusals read the same.
 */
import { HttpException, NotFoundException, ParseUUIDPipe } from '@nestjs/common';
import type { Request } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { errorsByField } from '../../common/http/validation';
import { DropboxError } from '../dropbox/dropbox.errors';
import { capitalize, FieldErrors, Fields } from './files-pages.view-models';

export type PageRequest = Request & { user?: AuthenticatedUser };

/** A page 404 for ids that aren't UUIDs, like any other unknown track. */
export const pageId = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('not found') });

/** Form values as typed, for filling the form in again after a refusal. */
export function typedFields(body: unknown, names: string[]): Fields {
  const record = (body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(names.map((n) => [n, typeof record[n] === 'string' ? (record[n] as string) : '']));
}

/**
 * The field errors a service refusal carries (`{field, message}` or `{errors}`), or a form-level `_form` message
 * for Dropbox trouble; null for anything else (a 404, a bug), which the caller rethrows.
 */
export function refusal(err: unknown): FieldErrors | null {
  if (err instanceof DropboxError) return { _form: err.message };
  if (!(err instanceof HttpException) || ![400, 409, 413].includes(err.getStatus())) return null;
  const body = err.getResponse() as
    { message?: unknown; field?: string; errors?: Array<{ field: string; message: string }> } | string;
  if (typeof body === 'string') return { _form: body };
  if (body.errors?.length) return errorsByField(body.errors);
  const message = Array.isArray(body.message) ? body.message.join('; ') : String(body.message ?? err.message);
  return body.field ? { [body.field]: message } : { _form: message };
}

/** The message of a refusal, in one sentence, for a flash. */
export function refusalMessage(err: unknown): string | null {
  const errors = refusal(err);
  return errors ? Object.values(errors).join('; ') : null;
}

/** Runs a one-button action and says how it went in a flash; refusals become the message, anything else is thrown. */
export async function flashing(req: PageRequest, action: () => Promise<string>): Promise<void> {
  try {
    req.session.flash = { kind: 'success', message: await action() };
  } catch (err) {
    const message = refusalMessage(err);
    if (!message) throw err;
    req.session.flash = { kind: 'error', message: capitalize(message.replace(/\.$/, '')) + '.' };
  }
}

/** Like flashing, but a refusal's message is put after a fixed lead ("Nothing imported: …."). */
export async function flashingWith(
  req: PageRequest,
  refusedLead: string,
  action: () => Promise<string>,
): Promise<void> {
  try {
    req.session.flash = { kind: 'success', message: await action() };
  } catch (err) {
    const message = refusalMessage(err);
    if (!message) throw err;
    req.session.flash = { kind: 'error', message: `${refusedLead}: ${message}.` };
  }
}
