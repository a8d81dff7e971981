const LOCAL_BASE = 'http://local.invalid';

/**
 * Only a path on this server may follow sign-in. `next` is resolved against the server's own address first and
 * judged as a browser will read it, after dot segments, percent-decoding of the scheme and backslashes are applied:
 * a check on the raw string let `/.//evil.example` through, which collapses to `//evil.example`. Anything that
 * lands on another origin, or whose normalised path a browser would read as protocol-relative, falls back.
 */
export function safeRedirectPath(next: unknown, fallback = '/', base = LOCAL_BASE): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  // Browsers drop tabs and newlines anywhere in a URL and read `\` as `/`: refuse both rather than guess.
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  let url: URL;
  let origin: string;
  try {
    origin = new URL(base).origin;
    url = new URL(next, base);
  } catch {
    return fallback;
  }
  // Schemes (`https:evil.example`, `javascript:`) and protocol-relative URLs land elsewhere.
  if (url.origin !== origin) return fallback;
  // `new URL('/.//x', base).pathname` is `//x`: as a Location that is another host.
  if (url.pathname.startsWith('//')) return fallback;
  return url.pathname + url.search + url.hash;
}
