import type { AppConfig } from './app-config.types';
import type { EnvSchema } from './env-schema';

export function dropboxConfig(env: EnvSchema, publicUrl: string): AppConfig['dropbox'] {
  return {
    appKey: env.DROPBOX_APP_KEY,
    appSecret: env.DROPBOX_APP_SECRET,
    apiUrl: env.DROPBOX_API_URL.replace(/\/+$/, ''),
    contentUrl: env.DROPBOX_CONTENT_URL.replace(/\/+$/, ''),
    authorizeUrl: env.DROPBOX_AUTHORIZE_URL,
    redirectUri: `${publicUrl}/settings/dropbox/callback`,
    uploadChunkBytes: env.DROPBOX_UPLOAD_CHUNK_MIB * 1024 * 1024,
    linkOrigins:
      env.DROPBOX_CONTENT_URL === 'https://content.dropboxapi.com'
        ? ['https://*.dropboxusercontent.com']
        : [...new Set([new URL(env.DROPBOX_CONTENT_URL).origin, new URL(env.DROPBOX_API_URL).origin])],
  };
}
