import { IncomingMessage, ServerResponse } from 'node:http';
import { Emulator } from '../emulator';
import { contentTypeFor, sendContent, sendText } from '../http-io';

/**
 * `GET /_tl/<token>/<name>`: a temporary link. Serves the revision it was made for, with Range support; 404 for
 * an unknown link and 410 Gone once expired, like Dropbox's content links.
 */
export async function handleTempLink(emulator: Emulator, token: string, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed');
  const link = emulator.state.tempLinks.get(token);
  if (!link) return sendText(res, 404, 'Not Found');
  if (link.expiresAt <= Date.now()) return sendText(res, 410, 'Gone');
  await sendContent(req, res, link.size, (range) => emulator.blobs.read(link.blob, range), {
    'Content-Type': contentTypeFor(link.name),
    'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(link.name)}`,
    ETag: `"${link.rev}"`,
  });
}
