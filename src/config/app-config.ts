import { plainToInstance, Transform } from 'class-transformer';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  IsDivisibleBy,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

/**
 * Every environment variable the server reads, validated once at boot.
 * Nobody else reads process.env: they inject {@link AppConfig}.
 * README.md and .env.example document the same list; keep the three in step.
 */
export class EnvSchema {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'PORT must be an integer between 1 and 65535' })
  @Min(1, { message: 'PORT must be an integer between 1 and 65535' })
  @Max(65535, { message: 'PORT must be an integer between 1 and 65535' })
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsOptional()
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    {
      message: 'PUBLIC_URL must be an absolute http(s) URL such as https://share.example.com',
    },
  )
  PUBLIC_URL?: string;

  @Matches(/^postgres(ql)?:\/\/[^\s]+$/, {
    message: 'DATABASE_URL must be a postgres:// URL such as postgres://user:pass@host:5432/dbname',
  })
  DATABASE_URL: string;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  @Min(1, { message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  @Max(100, { message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  DATABASE_POOL_MAX = 10;

  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'REDIS_URL must be a redis:// URL such as redis://127.0.0.1:6379' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Parsed by {@link parseSentinels}: Redis Sentinel instead of REDIS_URL when set. */
  @IsOptional()
  @IsString()
  REDIS_SENTINELS?: string;

  @Matches(/^[A-Za-z0-9._-]{1,64}$/, {
    message: "REDIS_SENTINEL_NAME must be the monitored primary's name (1-64 letters, digits, . _ -), e.g. mymaster",
  })
  REDIS_SENTINEL_NAME = 'mymaster';

  /** The Redis servers' password under Sentinel (with REDIS_URL it goes in the URL). */
  @IsOptional()
  @IsString()
  REDIS_PASSWORD?: string;

  @IsOptional()
  @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  @IsIn(['on', 'off'], { message: 'REDIS_TLS must be "on" or "off" (TLS to the Redis servers Sentinel names)' })
  REDIS_TLS: 'on' | 'off' = 'off';

  @IsIn(['on', 'off'], { message: 'REDIS_SENTINEL_TLS must be "on" or "off" (TLS to the sentinels)' })
  REDIS_SENTINEL_TLS: 'on' | 'off' = 'off';

  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'REDIS_PREFIX must be 1-32 letters, digits, _ or -' })
  REDIS_PREFIX = 'pd';

  @IsString()
  @MinLength(32, { message: 'SESSION_SECRET must be at least 32 characters (e.g. `openssl rand -base64 48`)' })
  SESSION_SECRET: string;

  @Matches(/^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/, {
    message: 'ENCRYPTION_KEY must be 32 bytes as base64 (44 chars) or hex (64 chars), e.g. `openssl rand -base64 32`',
  })
  ENCRYPTION_KEY: string;

  @IsOptional()
  @Matches(/^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/, {
    message: 'ENCRYPTION_KEY_PREVIOUS must be 32 bytes as base64 (44 chars) or hex (64 chars)',
  })
  ENCRYPTION_KEY_PREVIOUS?: string;

  @IsIn(['on', 'off'], { message: 'WORKERS must be "on" or "off"' })
  WORKERS: 'on' | 'off' = 'on';

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'WORKER_CONCURRENCY must be an integer between 1 and 64' })
  @Min(1, { message: 'WORKER_CONCURRENCY must be an integer between 1 and 64' })
  @Max(64, { message: 'WORKER_CONCURRENCY must be an integer between 1 and 64' })
  WORKER_CONCURRENCY = 4;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be "json" or "pretty"' })
  LOG_FORMAT: 'json' | 'pretty' = 'json';

  /** Parsed by {@link parseTrustProxy}: the addresses of the reverse proxies allowed to set X-Forwarded-*. */
  @IsOptional()
  @IsString()
  TRUST_PROXY?: string;

  @IsOptional()
  @IsString()
  DROPBOX_APP_KEY?: string;

  @IsOptional()
  @IsString()
  DROPBOX_APP_SECRET?: string;

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'DROPBOX_API_URL must be an absolute URL' })
  DROPBOX_API_URL = 'https://api.dropboxapi.com';

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'DROPBOX_CONTENT_URL must be an absolute URL' })
  DROPBOX_CONTENT_URL = 'https://content.dropboxapi.com';

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'DROPBOX_AUTHORIZE_URL must be an absolute URL' })
  DROPBOX_AUTHORIZE_URL = 'https://www.dropbox.com/oauth2/authorize';

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'DROPBOX_UPLOAD_CHUNK_MIB must be a multiple of 4 between 4 and 148' })
  @Min(4, { message: 'DROPBOX_UPLOAD_CHUNK_MIB must be a multiple of 4 between 4 and 148' })
  @Max(148, { message: 'DROPBOX_UPLOAD_CHUNK_MIB must be a multiple of 4 between 4 and 148' })
  @IsDivisibleBy(4, { message: 'DROPBOX_UPLOAD_CHUNK_MIB must be a multiple of 4 between 4 and 148' })
  DROPBOX_UPLOAD_CHUNK_MIB = 8;

  @Matches(/^\/[^\\:*?"<>|\u0000-\u001f]*[^/]$/, {
    message: 'DROPBOX_ROOT must be an absolute Dropbox folder path such as "/Producer Dashboard"',
  })
  DROPBOX_ROOT = '/Producer Dashboard';

  @IsString()
  @MinLength(1)
  SPOOL_DIR = '.data/spool';

  @IsIn(['true', 'false'], { message: 'SPOOL_SHARED must be "true" or "false"' })
  SPOOL_SHARED: 'true' | 'false' = 'true';

  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    message: 'SPOOL_HOST must be a host name: letters, digits, ".", "_" and "-", at most 63 characters',
  })
  SPOOL_HOST?: string;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'SPOOL_HOST_TIMEOUT_SECONDS must be an integer between 2 and 86400' })
  @Min(2, { message: 'SPOOL_HOST_TIMEOUT_SECONDS must be an integer between 2 and 86400' })
  @Max(86_400, { message: 'SPOOL_HOST_TIMEOUT_SECONDS must be an integer between 2 and 86400' })
  SPOOL_HOST_TIMEOUT_SECONDS = 120;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'MAX_UPLOAD_MB must be a whole number of megabytes (1 or more)' })
  @Min(1, { message: 'MAX_UPLOAD_MB must be a whole number of megabytes (1 or more)' })
  MAX_UPLOAD_MB = 20_480;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'MAX_UPLOAD_REQUEST_MB must be a whole number of megabytes (1 or more)' })
  @Min(1, { message: 'MAX_UPLOAD_REQUEST_MB must be a whole number of megabytes (1 or more)' })
  MAX_UPLOAD_REQUEST_MB = 20_480;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'SPOOL_QUOTA_MB must be a whole number of megabytes (1 or more)' })
  @Min(1, { message: 'SPOOL_QUOTA_MB must be a whole number of megabytes (1 or more)' })
  SPOOL_QUOTA_MB = 51_200;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'SPOOL_MIN_FREE_MB must be a whole number of megabytes (0 or more)' })
  @Min(0, { message: 'SPOOL_MIN_FREE_MB must be a whole number of megabytes (0 or more)' })
  SPOOL_MIN_FREE_MB = 1_024;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'JOB_LOCK_SECONDS must be an integer between 5 and 600' })
  @Min(5, { message: 'JOB_LOCK_SECONDS must be an integer between 5 and 600' })
  @Max(600, { message: 'JOB_LOCK_SECONDS must be an integer between 5 and 600' })
  JOB_LOCK_SECONDS = 30;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'SHUTDOWN_GRACE_SECONDS must be an integer between 1 and 3600' })
  @Min(1, { message: 'SHUTDOWN_GRACE_SECONDS must be an integer between 1 and 3600' })
  @Max(3600, { message: 'SHUTDOWN_GRACE_SECONDS must be an integer between 1 and 3600' })
  SHUTDOWN_GRACE_SECONDS = 25;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'COLLAB_STUCK_SECONDS must be an integer of at least 5' })
  @Min(5, { message: 'COLLAB_STUCK_SECONDS must be an integer of at least 5' })
  COLLAB_STUCK_SECONDS = 900;

  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'COLLAB_REFRESH_SECONDS must be an integer of at least 5' })
  @Min(5, { message: 'COLLAB_REFRESH_SECONDS must be an integer of at least 5' })
  COLLAB_REFRESH_SECONDS = 600;

  @IsString()
  @MinLength(1, { message: 'FFMPEG_PATH must name the ffmpeg program (a path, or a name found on PATH)' })
  FFMPEG_PATH = 'ffmpeg';

  @IsOptional()
  @Matches(/^[A-Za-z0-9._~+/=-]{24,256}$/, {
    message: 'METRICS_TOKEN must be 24-256 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. `openssl rand -hex 24`)',
  })
  METRICS_TOKEN?: string;

  @IsOptional()
  @Transform(({ value }) => (value === undefined ? value : Number(value)))
  @IsInt({ message: 'METRICS_PORT must be an integer between 1 and 65535 (a port on 127.0.0.1 serving only /metrics)' })
  @Min(1, {
    message: 'METRICS_PORT must be an integer between 1 and 65535 (a port on 127.0.0.1 serving only /metrics)',
  })
  @Max(65535, {
    message: 'METRICS_PORT must be an integer between 1 and 65535 (a port on 127.0.0.1 serving only /metrics)',
  })
  METRICS_PORT?: number;

  @IsOptional()
  @Matches(/^smtps?:\/\/[^\s]+$/, {
    message: 'SMTP_URL must be an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587',
  })
  SMTP_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(3, { message: 'MAIL_FROM must be an address such as "Producer Dashboard <dashboard@example.com>"' })
  MAIL_FROM?: string;

  @IsIn(['true', 'false'], { message: 'WEBHOOKS_ALLOW_PRIVATE must be "true" or "false"' })
  WEBHOOKS_ALLOW_PRIVATE: 'true' | 'false' = 'false';
}

export interface RedisConfig {
  /** The one Redis server, unless {@link sentinel} is set. */
  url: string;
  prefix: string;
  /** Redis Sentinel: the sentinels name the current primary, and a failover moves every connection to the new one. */
  sentinel?: {
    sentinels: Array<{ host: string; port: number }>;
    name: string;
    password?: string;
    sentinelPassword?: string;
    tls: boolean;
    sentinelTls: boolean;
  };
}

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  /** `trustProxy`: Express's trust-proxy list (addresses, CIDR networks, loopback/linklocal/uniquelocal), or none. */
  http: { port: number; host: string; publicUrl: string; trustProxy: string[] | false; secureCookies: boolean };
  database: { url: string; /** Most connections one process opens (DATABASE_POOL_MAX). */ poolMax: number };
  redis: RedisConfig;
  session: { secret: string };
  encryption: { key: Buffer; previousKey?: Buffer };
  workers: { enabled: boolean; concurrency: number; lockMs: number };
  /** How long SIGTERM/SIGINT waits for running jobs and requests before the process exits anyway. */
  shutdown: { graceMs: number };
  /** Share with collaborators: when a running pipeline counts as stuck; how often member states are refreshed. */
  collaboration: { stuckMs: number; refreshMs: number };
  /**
   * `/metrics`: bearer token required when set. `port`: also served, without a token, on 127.0.0.1:<port> only.
   * Otherwise, outside production, only loopback callers of the main port are answered; in production, nobody.
   */
  metrics: { token?: string; port?: number };
  /**
   * `maxUploadBytes` per file, `maxRequestBytes` per upload request, `spoolQuotaBytes` per producer (their uploads
   * not yet in Dropbox), `minFreeBytes`: uploads stop (507) before the spool's disk has less free.
   */
  files: {
    dropboxRoot: string;
    spoolDir: string;
    /**
     * `true`: every web and worker process sees one `SPOOL_DIR`, and any worker moves an upload into Dropbox.
     * `false`: the spool is this host's own; its uploads go into Dropbox from a process of `spoolHost` (see README).
     */
    spoolShared: boolean;
    /** The name of this spool's disk: processes with the same name must see the same `SPOOL_DIR`. */
    spoolHost: string;
    /** A spool host whose heartbeat is this old is gone: its pending uploads fail with a message to upload again. */
    spoolHostTimeoutMs: number;
    maxUploadBytes: number;
    maxRequestBytes: number;
    spoolQuotaBytes: number;
    minFreeBytes: number;
  };
  /** Producer notifications: email through SMTP (off without SMTP_URL); webhooks to private addresses only when allowed. */
  notifications: { smtpUrl?: string; mailFrom: string; webhooksAllowPrivate: boolean };
  /** Previews of audio files: the ffmpeg program that builds them. */
  media: { ffmpegPath: string };
  log: { level: string; pretty: boolean };
  dropbox: {
    appKey?: string;
    appSecret?: string;
    apiUrl: string;
    contentUrl: string;
    authorizeUrl: string;
    redirectUri: string;
    uploadChunkBytes: number;
    /** Where temporary links point: browsers may play media from there (Content-Security-Policy media-src). */
    linkOrigins: string[];
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * REDIS_SENTINELS: `host:port,host:port,…` (IPv6 as `[addr]:port`). Undefined when unset (REDIS_URL applies).
 */
export function parseSentinels(raw: string | undefined): {
  list?: Array<{ host: string; port: number }>;
  problem?: string;
} {
  if (raw === undefined || raw.trim() === '') return {};
  const list: Array<{ host: string; port: number }> = [];
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[3]) : 0;
    if (!match || port < 1 || port > 65535) {
      return {
        problem: `REDIS_SENTINELS: "${entry}" is not host:port; list the sentinels as host:port,host:port (e.g. 10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379)`,
      };
    }
    list.push({ host: match[1] ?? match[2], port });
  }
  return { list };
}

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

function decodeKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => {
    const constraints = Object.values(e.constraints ?? {});
    const message = constraints[0] ?? 'is invalid';
    // Name the variable even when the message is a generic class-validator one.
    return [message.startsWith(e.property) ? message : `${e.property}: ${message}`];
  });
}

/** Parses and validates the environment; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = plainToInstance(EnvSchema, defined, { exposeDefaultValues: true });
  const errors = validateSync(parsed, { whitelist: false, skipMissingProperties: false });
  const trustProxy = parseTrustProxy(parsed.TRUST_PROXY);
  const sentinels = parseSentinels(parsed.REDIS_SENTINELS);
  const problems = [
    ...flatten(errors),
    ...(trustProxy.problem ? [trustProxy.problem] : []),
    ...(sentinels.problem ? [sentinels.problem] : []),
  ];
  if (parsed.METRICS_PORT !== undefined && parsed.METRICS_PORT === parsed.PORT)
    problems.push('METRICS_PORT must differ from PORT');
  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, '');
  return {
    env: parsed.NODE_ENV,
    http: {
      port: parsed.PORT,
      host: parsed.HOST,
      publicUrl,
      trustProxy: trustProxy.list,
      secureCookies: publicUrl.startsWith('https://'),
    },
    database: { url: parsed.DATABASE_URL, poolMax: parsed.DATABASE_POOL_MAX },
    redis: {
      url: parsed.REDIS_URL,
      prefix: parsed.REDIS_PREFIX,
      sentinel: sentinels.list
        ? {
            sentinels: sentinels.list,
            name: parsed.REDIS_SENTINEL_NAME,
            password: parsed.REDIS_PASSWORD,
            sentinelPassword: parsed.REDIS_SENTINEL_PASSWORD,
            tls: parsed.REDIS_TLS === 'on',
            sentinelTls: parsed.REDIS_SENTINEL_TLS === 'on',
          }
        : undefined,
    },
    session: { secret: parsed.SESSION_SECRET },
    encryption: {
      key: decodeKey(parsed.ENCRYPTION_KEY),
      previousKey: parsed.ENCRYPTION_KEY_PREVIOUS ? decodeKey(parsed.ENCRYPTION_KEY_PREVIOUS) : undefined,
    },
    workers: {
      enabled: parsed.WORKERS === 'on',
      concurrency: parsed.WORKER_CONCURRENCY,
      lockMs: parsed.JOB_LOCK_SECONDS * 1000,
    },
    shutdown: { graceMs: parsed.SHUTDOWN_GRACE_SECONDS * 1000 },
    collaboration: { stuckMs: parsed.COLLAB_STUCK_SECONDS * 1000, refreshMs: parsed.COLLAB_REFRESH_SECONDS * 1000 },
    metrics: { token: parsed.METRICS_TOKEN, port: parsed.METRICS_PORT },
    notifications: {
      smtpUrl: parsed.SMTP_URL,
      mailFrom: parsed.MAIL_FROM ?? `Producer Dashboard <no-reply@${new URL(publicUrl).hostname}>`,
      webhooksAllowPrivate: parsed.WEBHOOKS_ALLOW_PRIVATE === 'true',
    },
    files: {
      dropboxRoot: parsed.DROPBOX_ROOT,
      spoolDir: resolve(parsed.SPOOL_DIR),
      spoolShared: parsed.SPOOL_SHARED === 'true',
      spoolHost: parsed.SPOOL_HOST ?? spoolHostName(),
      spoolHostTimeoutMs: parsed.SPOOL_HOST_TIMEOUT_SECONDS * 1000,
      maxUploadBytes: parsed.MAX_UPLOAD_MB * 1024 * 1024,
      maxRequestBytes: parsed.MAX_UPLOAD_REQUEST_MB * 1024 * 1024,
      spoolQuotaBytes: parsed.SPOOL_QUOTA_MB * 1024 * 1024,
      minFreeBytes: parsed.SPOOL_MIN_FREE_MB * 1024 * 1024,
    },
    media: { ffmpegPath: parsed.FFMPEG_PATH },
    log: { level: parsed.LOG_LEVEL, pretty: parsed.LOG_FORMAT === 'pretty' },
    dropbox: {
      appKey: parsed.DROPBOX_APP_KEY,
      appSecret: parsed.DROPBOX_APP_SECRET,
      apiUrl: parsed.DROPBOX_API_URL.replace(/\/+$/, ''),
      contentUrl: parsed.DROPBOX_CONTENT_URL.replace(/\/+$/, ''),
      authorizeUrl: parsed.DROPBOX_AUTHORIZE_URL,
      redirectUri: `${publicUrl}/settings/dropbox/callback`,
      uploadChunkBytes: parsed.DROPBOX_UPLOAD_CHUNK_MIB * 1024 * 1024,
      linkOrigins:
        parsed.DROPBOX_CONTENT_URL === 'https://content.dropboxapi.com'
          ? ['https://*.dropboxusercontent.com']
          : [...new Set([new URL(parsed.DROPBOX_CONTENT_URL).origin, new URL(parsed.DROPBOX_API_URL).origin])],
    },
  };
}

/**
 * The one place that reads process.env. Exits with a readable message instead of a stack trace,
 * so a typo in a compose file is obvious from the container log.
 */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee README.md#configuration or .env.example.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The machine's host name, cut to what SPOOL_HOST allows (it names a queue and a Redis key). */
function spoolHostName(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 63) || 'localhost'
  );
}
