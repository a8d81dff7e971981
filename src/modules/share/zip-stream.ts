import type { Archiver } from 'archiver';
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
