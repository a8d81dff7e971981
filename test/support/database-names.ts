import { Client } from 'pg';

/**
 * Every database a test run creates is named `pd_test_<jest pid>_<start time>_…`, so a run can drop exactly its
 * own leftovers, and a later run can tell an abandoned one (its Jest process is gone) from one still in use.
 */
export const TEST_DATABASE_PREFIX = 'pd_test_';

/** The same server and credentials as `url`, pointing at `database`. */
export function serverDatabaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Drops databases whose names start with `prefix` (FORCE: a crashed spec may have left connections open). */
export async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where starts_with(datname, $1)`,
      [prefix],
    );
    for (const { datname } of rows) {
      await client.query(`drop database if exists ${client.escapeIdentifier(datname)} with (force)`);
    }
  } finally {
    await client.end();
  }
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

/**
 * Drops test databases left by Jest runs that died before their teardown. Only meaningful for a server on this
 * machine, where the pid in the name is one of ours.
 */
export async function sweepAbandonedDatabases(adminUrl: string): Promise<void> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(adminUrl).hostname)) return;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  let abandoned: string[];
  try {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where starts_with(datname, $1)`,
      [TEST_DATABASE_PREFIX],
    );
    abandoned = [
      ...new Set(
        rows
          .map(({ datname }) => /^pd_test_(\d+)_[0-9a-z]+_/.exec(datname))
          .filter((m): m is RegExpExecArray => m !== null && !isAlive(Number(m[1])))
          .map((m) => m[0]),
      ),
    ];
  } finally {
    await client.end();
  }
  for (const runPrefix of abandoned) await dropDatabases(adminUrl, runPrefix);
}
