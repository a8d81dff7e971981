import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { findExecutable, freePort, ManagedProcess, waitUntil } from '../../tools/services';

export interface RunningPgBouncer {
  port: number;
  /** `databaseUrl` with its host and port replaced by this PgBouncer's. */
  through(databaseUrl: string): string;
  /** SHOW STATS of the admin console, by database name. */
  stats(): Promise<Record<string, { total_xact_count: string; total_query_count: string }>>;
  stop(): Promise<void>;
}

export const PGBOUNCER_MISSING = 'pgbouncer is not installed: `apt-get install pgbouncer` (Debian/Ubuntu)';

/**
 * Debian's pgbouncer on a free loopback port in transaction pooling mode, in front of the PostgreSQL of
 * `databaseUrl`, with a server pool smaller than the app's own pool so that one app connection's transactions run
 * on different server connections (any session state the app relied on would show). As root it runs as `postgres`
 * (pgbouncer refuses to run as root).
 */
export async function startPgBouncer(
  databaseUrl: string,
  { poolSize = 2 }: { poolSize?: number } = {},
): Promise<RunningPgBouncer> {
  const executable = findExecutable('pgbouncer', `${process.env.PATH ?? ''}:/usr/sbin`);
  if (!executable) throw new Error(PGBOUNCER_MISSING);
  const upstream = new URL(databaseUrl);
  const user = decodeURIComponent(upstream.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `pd-pgbouncer-${process.pid}-`));
  const asRoot = userInfo().uid === 0;
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
      }
    : {};
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${decodeURIComponent(upstream.password)}"\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'server_reset_query =',
      // node-postgres sends no startup options beyond these two; PgBouncer refuses unknown ones otherwise.
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  if (asRoot) for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), ids.uid!, ids.gid!);
  const proc = new ManagedProcess(executable, [join(dir, 'pgbouncer.ini')], {
    name: `pgbouncer (port ${port})`,
    ...ids,
  });
  const through = (url: string) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };
  const admin = async <T>(sql: string): Promise<T[]> => {
    const u = new URL(through(databaseUrl));
    u.pathname = '/pgbouncer';
    // The admin console speaks only the simple query protocol (what pg uses for a query without parameters).
    const client = new Client({ connectionString: u.toString() });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  try {
    await waitUntil(`pgbouncer on port ${port}`, async () => {
      if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
      return admin('SHOW VERSION').then(
        () => true,
        () => false,
      );
    });
  } catch (err) {
    await proc.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    through,
    stats: async () =>
      Object.fromEntries(
        (await admin<{ database: string; total_xact_count: string; total_query_count: string }>('SHOW STATS')).map(
          (r) => [r.database, r],
        ),
      ),
    stop: async () => {
      await proc.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
