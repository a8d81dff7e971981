import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPrivateAddress } from './webhook-targets';

export interface SendResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** `sha256=<hex HMAC-SHA256 of the raw body with the secret>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The address check at the moment of connecting: the name is resolved once, every address checked, and the
 * socket goes to a checked one (a name that turned private since the webhook was saved is refused here).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, found) => {
      if (err) return callback(err, '', 0);
      const addresses = found as unknown as LookupAddress[];
      const refused = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (refused || addresses.length === 0) {
        return callback(
          Object.assign(new Error(`${hostname} resolves to a private address (${refused?.address ?? 'none'})`), {
            code: 'EPRIVATE',
          }),
          '',
          0,
        );
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** One POST of the signed body; any 2xx answer is a delivery. Redirects are not followed (they could point inside). */
export function sendWebhook(
  url: string,
  headers: { event: string; eventId: string; signature: string },
  body: string,
  options: { allowPrivate: boolean; timeoutMs: number },
): Promise<SendResult> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const host = target.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    // A literal address never goes through lookup, so it is checked here.
    if (!options.allowPrivate && /^[\d.]+$|:/.test(host) && isPrivateAddress(host)) {
      return resolve({ ok: false, httpStatus: null, error: `${host} is a private address` });
    }
    const req = client.request(
      target,
      {
        method: 'POST',
        lookup: guardedLookup(options.allowPrivate),
        timeout: options.timeoutMs,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'User-Agent': 'ProducerDashboard-Webhook/1',
          'X-PD-Event': headers.event,
          'X-PD-Delivery': headers.eventId,
          'X-PD-Signature': headers.signature,
        },
      },
      (res) => {
        res.resume(); // the answer's body is not needed; drain it so the socket is freed
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            httpStatus: status,
            error: status >= 200 && status < 300 ? null : `answered ${status}`,
          });
        });
        res.on('error', (err) => resolve({ ok: false, httpStatus: res.statusCode ?? null, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, httpStatus: null, error: err.message }));
    req.end(body);
  });
}
