import { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DropboxApiError } from './errors';

/** RPC, OAuth and control bodies are small; anything bigger is a client bug. */
const MAX_SMALL_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage, onBytes: (bytes: number) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_SMALL_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  onBytes(size);
  if (size > MAX_SMALL_BODY_BYTES) throw new DropboxApiError(413, 'Request body too large');
  return Buffer.concat(chunks);
}

/** Reads and discards what is left of a request body, so the response can follow on a healthy connection. */
export async function drain(req: IncomingMessage, onBytes: (bytes: number) => void): Promise<void> {
  if (req.readableEnded) return;
  let size = 0;
  for await (const chunk of req) size += (chunk as Buffer).length;
  onBytes(size);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: DropboxApiError): void {
  if (typeof error.body === 'string') sendText(res, error.status, error.body, error.headers);
  else sendJson(res, error.status, error.body, error.headers);
}

/** JSON safe for an HTTP header: non-ASCII escaped as \uXXXX (what `Dropbox-API-Result` carries). */
export function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export type ByteRange = { start: number; end: number };

/**
 * A single `bytes=` range against a resource of `size` bytes: the range, `unsatisfiable` (→ 416), or undefined
 * to serve everything (no header, or forms we answer in full such as multiple ranges).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffixLength = Number(match[2]);
    if (suffixLength === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffixLength);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/**
 * Sends file bytes with Range support (206 / 416) and HEAD. With `cutAfterBytes`, a body longer than that stops
 * after those bytes and the connection is closed: the headers promised more, so the client sees a failed download.
 */
export async function sendContent(
  req: IncomingMessage,
  res: ServerResponse,
  size: number,
  open: (range?: ByteRange) => Readable,
  headers: Record<string, string>,
  cutAfterBytes?: number,
): Promise<void> {
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const common = { ...headers, 'Accept-Ranges': 'bytes' };
  if (range) {
    res.writeHead(206, {
      ...common,
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      'Content-Length': range.end - range.start + 1,
    });
  } else {
    res.writeHead(200, { ...common, 'Content-Length': size });
  }
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  const length = range ? range.end - range.start + 1 : size;
  if (cutAfterBytes === undefined || cutAfterBytes >= length) {
    await pipeline(open(range), res);
    return;
  }
  await pipeline(firstBytes(open(range), cutAfterBytes), res, { end: false });
  // Destroying at once could drop bytes Node still queues; an empty write's callback runs once they reached the socket.
  await new Promise<void>((resolve) => {
    res.once('close', resolve);
    res.write(Buffer.alloc(0), () => resolve());
  });
  res.destroy();
}

async function* firstBytes(source: Readable, limit: number): AsyncGenerator<Buffer> {
  let left = limit;
  for await (const chunk of source) {
    const part = (chunk as Buffer).subarray(0, left);
    left -= part.length;
    yield part;
    // Leaving the loop destroys the source: the rest of the file is never read.
    if (left === 0) return;
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.aif': 'audio/aiff',
  '.aiff': 'audio/aiff',
  '.flac': 'audio/flac',
  '.m4a': 'audio/mp4',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.zip': 'application/zip',
};

/** A content type from the file name, so browsers can play audio served from temporary links. */
export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}
