import type { Archiver } from 'archiver';
import type { Response } from 'express';
import type { Readable } from 'node:stream';

/**
 * Appends one entry to a streaming archive and resolves once archiver has written it (entries go one at a time,
 * so only one upstream download is open). Fails when the source fails mid-entry — archiver itself does not listen
 * for its sources' errors, so a Dropbox download cut halfway would otherwise be an unhandled 'error' that ends the
 * process — or when the archive does. Its listeners are removed either way: a ZIP of hundreds of files must not
 * leave one listener per entry on the archive.
 */
export function appendEntry(archive: Archiver, source: Readable, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      archive.off('entry', written);
      archive.off('error', failed);
      source.off('error', failed);
      if (err) reject(err);
      else resolve();
    };
    const written = () => settle();
    const failed = (err: Error) => settle(err);
    archive.once('entry', written);
    archive.once('error', failed);
    source.once('error', failed);
    archive.append(source, { name });
  });
}

/** The note put inside a ZIP that had to leave files out. */
const NOT_INCLUDED_NOTE = 'NOT INCLUDED.txt';

export function zipName(name: string): string {
  // Names come from Dropbox and are shown as folders in the archive: no separators, no dot-dot tricks.
  return (
    name
      .replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_')
      .replace(/^\.+/, '_')
      .trim() || 'file'
  );
}

/** Adds an entry from a temporary link, or (a Buffer) a small text written by us. */
export type ZipAdd = (name: string, url: string | Buffer) => Promise<void>;

/** Names the files a ZIP had to leave out, inside the ZIP, so the recipient knows it is not short by accident. */
export async function addNote(add: ZipAdd, left: string[]): Promise<void> {
  if (left.length === 0) return;
  const text = [
    "These files are in the producer's Dropbox but Dropbox can't serve them (cloud documents such as Google Docs or",
    'Paper, or content Dropbox has restricted), so they are not in this ZIP:',
    '',
    ...left.map((name) => `- ${name}`),
    '',
  ].join('\r\n');
  await add(NOT_INCLUDED_NOTE, Buffer.from(text, 'utf8'));
}

/** HEAD of a ZIP route: the headers a GET would start with, and nothing built, fetched or counted. */
export function headOnly(res: Response, filename: string): boolean {
  if (res.req.method !== 'HEAD') return false;
  res.status(200);
  res.setHeader('Content-Type', 'application/zip');
  res.setHeader('Content-Disposition', contentDisposition(filename));
  res.setHeader('Cache-Control', 'private, no-store');
  res.end();
  return true;
}

export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
