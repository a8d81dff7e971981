import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { AppConfig } from './app-config.types';
import type { EnvSchema } from './env-schema';

/** The spool, its host and the upload limits. */
export function filesConfig(env: EnvSchema): AppConfig['files'] {
  return {
    dropboxRoot: env.DROPBOX_ROOT,
    spoolDir: resolve(env.SPOOL_DIR),
    spoolShared: env.SPOOL_SHARED === 'true',
    spoolHost: env.SPOOL_HOST ?? spoolHostName(),
    spoolHostTimeoutMs: env.SPOOL_HOST_TIMEOUT_SECONDS * 1000,
    maxUploadBytes: env.MAX_UPLOAD_MB * 1024 * 1024,
    maxRequestBytes: env.MAX_UPLOAD_REQUEST_MB * 1024 * 1024,
    spoolQuotaBytes: env.SPOOL_QUOTA_MB * 1024 * 1024,
    minFreeBytes: env.SPOOL_MIN_FREE_MB * 1024 * 1024,
  };
}

/** The machine's host name, cut to what SPOOL_HOST allows (it names a queue and a Redis key). */
function spoolHostName(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 63) || 'localhost'
  );
}
