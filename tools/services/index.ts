export { freePort } from './ports';
export { delay, findExecutable, ManagedProcess, runToCompletion, waitUntil } from './processes';
export type { ExitStatus, ManagedProcessOptions } from './processes';
export { ensurePostgres, postgresAnswers, PostgresServer } from './postgres';
export type { PostgresServerOptions } from './postgres';
export { ensureRedis, REDIS_SERVER_MISSING, redisAnswers, RedisServer } from './redis';
export type { RedisServerOptions } from './redis';
export type { ServiceHandle } from './types';
export { SentinelGroup } from './sentinel';
