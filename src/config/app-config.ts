/**
 * The configuration as the rest of the server imports it: its shape and token, the environment it is read from,
 * and the loader. Each part lives in its own file here.
 */
export { APP_CONFIG } from './app-config.types';
export type { AppConfig, RedisConfig } from './app-config.types';
export { EnvSchema } from './env-schema';
export { ConfigError } from './env-validation';
export { parseTrustProxy } from './http-config';
export { parseSentinels } from './redis-config';
export { loadConfig, loadConfigOrExit } from './load-config';
