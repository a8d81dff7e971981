import { randomBytes, randomInt } from 'node:crypto';

/** Identifiers shaped like Dropbox's, random so that tests can't depend on creation order. */

export const newFileId = (): string => `id:${randomBytes(16).toString('base64url')}`;

/** Revs are hex, at least 9 characters; a counter prefix keeps them increasing like Dropbox's. */
let revCounter = 0;
export const newRev = (): string =>
  `${(Date.now() * 1000 + (revCounter++ % 1000)).toString(16)}${randomBytes(4).toString('hex')}`;

/** `dbid:` and 35 characters: 40 in all, as Dropbox's account ids are. */
export const newAccountId = (): string => `dbid:AA${randomBytes(25).toString('base64url').slice(0, 33)}`;

/** Numeric ids: shared folder ids, namespace ids and OAuth `uid`s are decimal strings. */
export const newNumericId = (): string => String(randomInt(1_000_000_000, 281_474_976_710_655));

export const newSessionId = (): string => `pid_upload_session:${randomBytes(36).toString('base64url')}`;

export const newJobId = (): string => `dbjid:${randomBytes(36).toString('base64url')}`;

export const newSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Dropbox timestamps have whole seconds: `2015-05-12T15:50:38Z`. */
export function dropboxTimestamp(date: Date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
