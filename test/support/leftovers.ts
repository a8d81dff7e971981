import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/*
 * Everything a test run creates on shared servers or disk carries a pid: databases and Redis keys the Jest parent's
 * run id (`<pid>_<start time>`), temp folders the pid of the process that made them. A run removes exactly its own
 * at the end, and a later run removes those whose process is gone (a run killed before its teardown) — never those
 * of a run still going, such as a colleague's on the same machine.
 */

export const TEST_DATABASE_PREFIX = 'pd_test_';
export const TEST_REDIS_PREFIX = 'pdt-';
const TEMP_DIR = /^pd-(?:test|private-pg|private-redis|demo-spec)-(\d+)-/;

/** Prefix of every Redis key a run writes through {@link TEST_REDIS_PREFIX}-prefixed REDIS_PREFIXes. */
export function runRedisPrefix(runId: string): string {
  return `${TEST_REDIS_PREFIX}${runId}-`;
}

/** A fresh temp folder named after `kind` and our pid, enterable by the postgres account (which we run as root). */
export function makeTempDir(kind: 'test' | 'private-pg' | 'private-redis' | 'demo-spec'): string {
  const dir = mkdtempSync(join(tmpdir(), `pd-${kind}-${process.pid}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** The same server and credentials as `url`, pointing at `database`. */
export function serverDatabaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only a server on this machine shares our pid space. */
function isLocal(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

async function databaseNames(adminUrl: string, prefix: string): Promise<string[]> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where starts_with(datname, $1)',
      [prefix],
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

/** Drops databases whose names start with `prefix` (FORCE: a crashed spec may have left connections open). */
export async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  const names = await databaseNames(adminUrl, prefix);
  if (names.length === 0) return;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of names)
      await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK in batches, never KEYS); returns how many. */
export async function deleteKeysStartingWith(url: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`Refusing to delete keys for an unusual prefix: ${prefix}`);
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** Run prefixes (`<pid>_<time>`) among `names` whose Jest process is gone. */
function abandonedRuns(names: string[], pattern: RegExp): string[] {
  const runs = names
    .map((name) => pattern.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && !isAlive(Number(m[1])))
    .map((m) => m[0]);
  return [...new Set(runs)];
}

export async function sweepAbandonedDatabases(adminUrl: string): Promise<void> {
  if (!isLocal(adminUrl)) return;
  const names = await databaseNames(adminUrl, TEST_DATABASE_PREFIX);
  for (const run of abandonedRuns(names, /^pd_test_(\d+)_[0-9a-z]+_/)) await dropDatabases(adminUrl, run);
}

export async function sweepAbandonedRedisKeys(url: string): Promise<void> {
  if (!isLocal(url)) return;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const runs = new Set<string>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${TEST_REDIS_PREFIX}*`, 'COUNT', 1000);
      for (const run of abandonedRuns(keys, /^pdt-(\d+)_[0-9a-z]+-/)) runs.add(run);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  for (const run of runs) await deleteKeysStartingWith(url, run);
}

export function sweepAbandonedTempDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    const match = TEMP_DIR.exec(entry);
    if (match && !isAlive(Number(match[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}
