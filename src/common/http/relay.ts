import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

const logger = new Logger('Relay');

/**
 * Streams a file from a (Dropbox temporary) link through this server, honouring `Range`, `If-Range` and `HEAD`, so
 * the link itself never reaches the client. Inline and never cached: what is relayed is listen-only.
 */
/** What a GET relayed: the first byte of the range, how many bytes reached the client, and the file's size. */
export interface Relayed {
  start: number;
  sent: number;
  total: number;
}

export async function relayLink(
  url: string,
  contentType: string,
  req: Request,
  res: Response,
  onRelayed?: (relayed: Relayed) => void,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const headers: Record<string, string> = {};
  if (typeof req.headers.range === 'string') headers.Range = req.headers.range;
  if (typeof req.headers['if-range'] === 'string') headers['If-Range'] = req.headers['if-range'];
  let upstream: globalThis.Response;
  try {
    upstream = await fetch(url, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers, signal: abort.signal });
  } catch (err) {
    if (abort.signal.aborted) return;
    throw new HttpException('Dropbox could not be reached. Please try again.', HttpStatus.BAD_GATEWAY, { cause: err });
  }
  if (![200, 206, 416].includes(upstream.status)) {
    await upstream.body?.cancel();
    throw new HttpException('Dropbox did not serve this file. Please try again.', HttpStatus.BAD_GATEWAY);
  }
  res.status(upstream.status);
  for (const name of ['content-length', 'content-range', 'etag', 'last-modified']) {
    const value = upstream.headers.get(name);
    if (value) res.setHeader(name, value);
  }
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Disposition', 'inline');
  res.setHeader('Cache-Control', 'private, no-store');
  if (!upstream.body || req.method === 'HEAD') {
    await upstream.body?.cancel();
    res.end();
    return;
  }
  const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(upstream.headers.get('content-range') ?? '');
  const start = range ? Number(range[1]) : 0;
  let total = range ? Number(range[2]) : Number(upstream.headers.get('content-length') ?? 0);
  let sent = 0;
  const body = Readable.fromWeb(upstream.body as unknown as WebReadableStream);
  if (onRelayed) body.on('data', (chunk: Buffer) => (sent += chunk.length));
  try {
    await pipeline(body, res);
    // A whole file sent without a length (chunked): its size is what was sent.
    if (!total && !range) total = sent;
  } catch (err) {
    if (!abort.signal.aborted) logger.warn({ error: (err as Error).message }, 'relaying a file stopped');
  } finally {
    // Also when the client went away part-way: what it got is what it got.
    if (onRelayed && upstream.status !== 416) onRelayed({ start, sent, total });
  }
}
