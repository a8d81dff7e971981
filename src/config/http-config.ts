import { isIP } from 'node:net';
import type { AppConfig } from './app-config.types';
import type { EnvSchema } from './env-schema';

const TRUST_PROXY_EXAMPLE =
  'e.g. TRUST_PROXY=127.0.0.1 (a proxy on this host), TRUST_PROXY=172.30.77.1 (compose), or TRUST_PROXY=10.0.0.0/8,loopback';
const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY names the reverse proxies whose X-Forwarded-For/-Proto are believed: a list of addresses, CIDR
 * networks or Express's names. "true", a hop count or a network covering every address would let anyone who reaches
 * the port directly choose their own address (and so walk past every per-address limit), so they are refused.
 */
export function parseTrustProxy(value: string | undefined): { list: string[] | false; problem?: string } {
  const raw = (value ?? '').trim();
  if (raw === '' || ['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return { list: false };
  if (['true', 'yes', 'on', '*'].includes(raw.toLowerCase()) || /^\d+$/.test(raw)) {
    return {
      list: false,
      problem: `TRUST_PROXY must list your reverse proxy's addresses or networks, not "${raw}" (which trusts whoever connects): ${TRUST_PROXY_EXAMPLE}`,
    };
  }
  const list = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of list) {
    if (TRUST_PROXY_NAMES.has(entry)) continue;
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    const valid =
      family !== 0 &&
      extra === undefined &&
      Number.isInteger(bits) &&
      bits >= 0 &&
      bits <= (family === 4 ? 32 : 128) &&
      (prefix === undefined || /^\d+$/.test(prefix));
    if (!valid)
      return {
        list: false,
        problem: `TRUST_PROXY: "${entry}" is not an IP address, a CIDR network or one of loopback, linklocal, uniquelocal (${TRUST_PROXY_EXAMPLE})`,
      };
    if (bits === 0)
      return {
        list: false,
        problem: `TRUST_PROXY: "${entry}" covers every address, so anyone could set X-Forwarded-For; name the proxy's own address or network (${TRUST_PROXY_EXAMPLE})`,
      };
  }
  return { list };
}

/** PUBLIC_URL without its trailing slashes; by default the local address of PORT. */
export function publicUrlOf(env: EnvSchema): string {
  return (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
}

export function httpConfig(env: EnvSchema, publicUrl: string, trustProxy: string[] | false): AppConfig['http'] {
  return {
    port: env.PORT,
    host: env.HOST,
    publicUrl,
    trustProxy,
    secureCookies: publicUrl.startsWith('https://'),
  };
}
