import { IncomingMessage, STATUS_CODES, ServerResponse } from 'node:http';
import { Emulator } from '../emulator';
import { TEMP_LINK_ROUTE } from '../faults';
import { contentTypeFor, sendContent, sendText } from '../http-io';

/**
 * `GET /_tl/<token>/<name>`: a temporary link. Serves the revision it was made for, with Range support; 404 for
 * an unknown link and 410 Gone once expired, like Dropbox's content links. Faults of route `temp_link` delay the
 * answer, replace it with a status, or cut the body after some bytes.
 */
export async function handleTempLink(emulator: Emulator, token: string, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed');
  const link = emulator.state.tempLinks.get(token);
  if (!link) return sendText(res, 404, 'Not Found');
  if (link.expiresAt <= Date.now()) return sendText(res, 410, 'Gone');
  // The link record does not know its account, so only faults for every account match.
  const fault = emulator.faults.take(TEMP_LINK_ROUTE, undefined);
  await emulator.faults.delay(fault);
  if (fault?.status !== undefined) {
    const text = typeof fault.body === 'string' ? fault.body : (STATUS_CODES[fault.status] ?? `Error ${fault.status}`);
    const headers: Record<string, string> =
      fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
    return sendText(res, fault.status, text, headers);
  }
  await sendContent(
    req,
    res,
    link.size,
    (range) => emulator.blobs.read(link.blob, range),
    {
      'Content-Type': contentTypeFor(link.name),
      'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(link.name)}`,
      ETag: `"${link.rev}"`,
    },
    fault?.cutAfterBytes,
  );
}
