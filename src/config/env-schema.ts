import { Transform } from 'class-transformer';
import { IsDivisibleBy, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength } from 'class-validator';

/**
 * Every environment variable the server reads, validated once at boot.
 * Nobody else reads process.env: they inject AppConfig (app-config.types.ts).
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

  /** Parsed by parseSentinels (redis-config.ts): Redis Sentinel instead of REDIS_URL when set. */
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

  /** Parsed by parseTrustProxy (http-config.ts): the addresses of the reverse proxies allowed to set X-Forwarded-*. */
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
