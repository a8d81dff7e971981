import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, DatabaseError } from 'pg';
import { delay, PostgresServer } from '../../tools/services';
import { claimSpare, REFILL, tellKeeper } from './database-keeper';
import { makeTempDir, serverDatabaseUrl, TEST_DATABASE_PREFIX } from './leftovers';

export interface TestDatabase {
  /** A freshly migrated database of its own. */
  url: string;
  /** Drops it now (and waits for PostgreSQL's checkpoint). */
  drop(): Promise<void>;
  /**
   * Done with it: the run's keeper drops it in the background (see database-keeper.ts), so an afterAll does not
   * wait for the checkpoint. Nothing may use the database afterwards.
   */
  release(): Promise<void>;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the test through jest, whose global setup provides it`);
  return value;
}

/** PostgreSQL's "source database is being accessed by other users" when a session sits on the template. */
const OBJECT_IN_USE = '55006';

/**
 * A clone of the migrated template made by global setup: a few milliseconds instead of running migrations, and no
 * state shared with any other spec. Usually one the run's keeper made ahead (see database-keeper.ts), else cloned
 * here. Call `release()` (or `drop()`) in afterAll; teardown drops forgotten ones at the end of the run.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = requireEnv('PD_TEST_ADMIN_DATABASE_URL');
  const template = requireEnv('PD_TEST_TEMPLATE_DB');
  const prefix = `${TEST_DATABASE_PREFIX}${requireEnv('PD_TEST_RUN_ID')}_`;
  const name = `${prefix}${randomBytes(5).toString('hex')}`;
  const channel = process.env.PD_TEST_KEEPER_CHANNEL;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    if (channel && (await claimSpare(admin, prefix, name))) await tellKeeper(admin, channel, REFILL);
    else await cloneTemplate(admin, template, name);
  } finally {
    await admin.end();
  }
  const drop = async () => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
    } finally {
      await client.end();
    }
  };
  const release = async () => {
    if (!channel) return drop();
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await tellKeeper(client, channel, name);
    } finally {
      await client.end();
    }
  };
  return { url: serverDatabaseUrl(adminUrl, name), drop, release };
}

async function cloneTemplate(admin: Client, template: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`create database ${admin.escapeIdentifier(name)} template ${admin.escapeIdentifier(template)}`);
      return;
    } catch (err) {
      // The template refuses connections, so only a brief overlap (a connection still closing) gets here.
      if (!(err instanceof DatabaseError && err.code === OBJECT_IN_USE) || attempt === 20) throw err;
      await delay(100 * attempt);
    }
  }
}

export interface PrivatePostgres {
  /** The server's `postgres` database, as the superuser. */
  url: string;
  port: number;
  dataDir: string;
  /** Creates `database` if needed and returns its URL. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown); the data stays for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data (stopping it first if it runs). */
  restart(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server owned by one test, for tests that stop or restart the database to check the app copes.
 * Takes about a second (initdb).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = makeTempDir('private-pg');
  let server: PostgresServer;
  try {
    server = await PostgresServer.start({ dataDir: join(dir, 'data'), durable: false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: server.url(),
    port: server.port,
    dataDir: server.dataDir,
    database: (name) => server.ensureDatabase(name),
    stop: () => server.stop(),
    restart: () => server.restart(),
    destroy: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
