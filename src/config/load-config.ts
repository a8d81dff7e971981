import type { AppConfig } from './app-config.types';
import { dropboxConfig } from './dropbox-config';
import { ConfigError, validateEnv } from './env-validation';
import { filesConfig } from './files-config';
import { httpConfig, publicUrlOf } from './http-config';
import { redisConfig } from './redis-config';

/** Parses and validates the environment; throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const { env: parsed, trustProxy, sentinels } = validateEnv(env);
  const publicUrl = publicUrlOf(parsed);
  return {
    env: parsed.NODE_ENV,
    http: httpConfig(parsed, publicUrl, trustProxy),
    database: { url: parsed.DATABASE_URL, poolMax: parsed.DATABASE_POOL_MAX },
    redis: redisConfig(parsed, sentinels),
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
    files: filesConfig(parsed),
    media: { ffmpegPath: parsed.FFMPEG_PATH },
    log: { level: parsed.LOG_LEVEL, pretty: parsed.LOG_FORMAT === 'pretty' },
    dropbox: dropboxConfig(parsed, publicUrl),
  };
}

function decodeKey(value: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
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
