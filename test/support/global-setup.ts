import { join } from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../src/database/migrate';
import { ensurePostgres, ensureRedis, postgresAnswers, redisAnswers } from '../../tools/services';
import {
  makeTempDir,
  serverDatabaseUrl,
  sweepAbandonedDatabases,
  sweepAbandonedRedisKeys,
  sweepAbandonedTempDirs,
  TEST_DATABASE_PREFIX,
} from './leftovers';
import { startDatabaseKeeper } from './database-keeper';
import { releaseTestRun } from './global-teardown';
import { saveTestRun, type TestRun } from './run-state';

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/**
 * Finds (or starts) PostgreSQL and Redis once per `jest` run and prepares a migrated template database that every
 * spec clones (test/support/database.ts), so no spec pays for migrations and none sees another's rows.
 *
 * Exports to the test workers: PD_TEST_ADMIN_DATABASE_URL (the server's `postgres` database), PD_TEST_TEMPLATE_DB,
 * PD_TEST_RUN_ID (names clones so teardown can find them), PD_TEST_REDIS_URL and PD_TEST_KEEPER_CHANNEL (how
 * specs ask for spare clones and hand back theirs).
 */
export default async function globalSetup(): Promise<void> {
  const run: TestRun = { runId: `${process.pid}_${Date.now().toString(36)}`, stops: [] };
  saveTestRun(run);
  try {
    await prepare(run);
  } catch (err) {
    // Jest skips teardown when setup fails; without this a started server would outlive the run.
    await releaseTestRun(run);
    throw err;
  }
}

async function prepare(run: TestRun): Promise<void> {
  sweepAbandonedTempDirs();
  // Used only if a server has to be started here.
  run.tempDir = makeTempDir('test');

  const postgres = await ensurePostgres({
    dataDir: join(run.tempDir, 'postgres'),
    url: await pickServer('TEST_DATABASE_URL', LOCAL_POSTGRES, postgresAnswers),
    durable: false,
  });
  run.stops.push(postgres.stop);
  const adminUrl = serverDatabaseUrl(postgres.url, 'postgres');

  const redis = await ensureRedis({
    dataDir: join(run.tempDir, 'redis'),
    url: await pickServer('TEST_REDIS_URL', LOCAL_REDIS, redisAnswers),
  });
  run.stops.push(redis.stop);
  run.redisUrl = redis.url;

  // On shared servers, clear what killed earlier runs left behind.
  if (!postgres.started) await sweepAbandonedDatabases(adminUrl);
  if (!redis.started) await sweepAbandonedRedisKeys(redis.url);

  const template = `${TEST_DATABASE_PREFIX}${run.runId}_template`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    run.adminUrl = adminUrl;
    await admin.query(`create database ${admin.escapeIdentifier(template)}`);
    await runMigrations(serverDatabaseUrl(adminUrl, template));
    // Nobody may connect to the template any more: a lingering session would make every clone fail.
    await admin.query(`alter database ${admin.escapeIdentifier(template)} with allow_connections false`);
  } finally {
    await admin.end();
  }

  run.keeper = await startDatabaseKeeper(adminUrl, run.runId, `${TEST_DATABASE_PREFIX}${run.runId}_`, template);

  process.env.PD_TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.PD_TEST_TEMPLATE_DB = template;
  process.env.PD_TEST_RUN_ID = run.runId;
  process.env.PD_TEST_REDIS_URL = redis.url;
  process.env.PD_TEST_KEEPER_CHANNEL = run.keeper.channel;
}

/**
 * An explicitly configured server must answer (a typo should fail loudly, not fall back); the local default is
 * used when it answers; otherwise undefined, and the caller starts its own.
 */
async function pickServer(
  variable: string,
  localDefault: string,
  answers: (url: string) => Promise<boolean>,
): Promise<string | undefined> {
  const configured = process.env[variable];
  if (configured) {
    if (!(await answers(configured))) throw new Error(`${variable}=${configured} does not answer`);
    return configured;
  }
  return (await answers(localDefault)) ? localDefault : undefined;
}
