import { DropboxError, DropboxStorageFull } from '../dropbox/dropbox.errors';

/**
 * Why Dropbox would not store an upload, in the producer's words (shown on the upload row). A full Dropbox
 * already reads "Your Dropbox is full (…): free some space, then Retry"; names Dropbox refuses say what to change.
 */
export function uploadRefusalMessage(err: unknown, fileName: string): string {
  if (err instanceof DropboxStorageFull) return err.message;
  if (err instanceof DropboxError) {
    if (err.tags.includes('folder_not_reachable')) {
      return "This track's Dropbox folder is not reachable (folder not reachable: it was moved outside your Dropbox, e.g. into a team space): move it back, then Retry";
    }
    if (err.tags.includes('disallowed_name')) {
      return `Dropbox does not accept files named “${fileName}” (system files such as .DS_Store or desktop.ini): discard it`;
    }
    if (err.tags.includes('malformed_path')) {
      return `Dropbox does not accept the name “${fileName}” (a name may not end in a space or be longer than 255 characters): rename the file and upload it again`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
