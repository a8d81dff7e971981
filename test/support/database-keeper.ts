import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Both ends of a spec's database cost it time PostgreSQL could spend beside the other specs instead: CREATE
 * DATABASE copies the template (about half a second), and DROP DATABASE first waits for a server-wide
 * checkpoint (seconds while the other worker's spec writes). This keeper, in Jest's parent process, keeps a few
 * clones made ahead for specs to claim (by renaming one to their own name) and drops the clones specs hand back
 * (a NOTIFY with the name), one by one. Global teardown waits for it, then sweeps whatever is left as before.
 */
export interface DatabaseKeeper {
  /** The NOTIFY channel workers send names to drop, or {@link REFILL} after claiming a spare. */
  channel: string;
  /** Stops making spares, waits for the drops asked for so far and stops listening. */
  close(): Promise<void>;
}

/** The payload that asks for a spare to be made again. */
export const REFILL = 'refill';
/** Ready-made clones: one per Jest worker. */
const SPARES = 2;

export function keeperChannel(runId: string): string {
  return `pd_test_keeper_${runId}`;
}

/** Names of the clones made ahead, claimable by {@link claimSpare}. */
export function sparePrefix(prefix: string): string {
  return `${prefix}spare_`;
}

export async function startDatabaseKeeper(
  adminUrl: string,
  runId: string,
  prefix: string,
  template: string,
): Promise<DatabaseKeeper> {
  const channel = keeperChannel(runId);
  const listener = new Client({ connectionString: adminUrl });
  const maker = new Client({ connectionString: adminUrl });
  await Promise.all([listener.connect(), maker.connect()]);
  // Without listeners pg rethrows a lost connection as an uncaught error; teardown's sweep covers both jobs.
  listener.on('error', () => undefined);
  maker.on('error', () => undefined);
  let closed = false;
  let drops = Promise.resolve();
  let making: Promise<void> | undefined;

  const spares = async () =>
    (
      await maker.query<{ n: string }>('select count(*) as n from pg_database where starts_with(datname, $1)', [
        sparePrefix(prefix),
      ])
    ).rows[0].n;
  const refill = () => {
    making ??= (async () => {
      try {
        while (!closed && Number(await spares()) < SPARES) {
          const name = `${sparePrefix(prefix)}${randomBytes(5).toString('hex')}`;
          await maker.query(
            `create database ${maker.escapeIdentifier(name)} template ${maker.escapeIdentifier(template)}`,
          );
        }
      } catch {
        // A spec finds no spare and clones the template itself, as it would without the keeper.
      } finally {
        making = undefined;
      }
    })();
  };

  listener.on('notification', ({ channel: from, payload }) => {
    if (from !== channel || !payload) return;
    if (payload === REFILL) return refill();
    // Only this run's clones: the channel is the run's, but a name is never trusted blindly with DROP.
    if (!payload.startsWith(prefix)) return;
    drops = drops
      .then(() => listener.query(`drop database if exists ${listener.escapeIdentifier(payload)} with (force)`))
      // A failed drop is retried by teardown's sweep, which drops every clone of the run that is still there.
      .then(
        () => undefined,
        () => undefined,
      );
  });
  await listener.query(`listen ${listener.escapeIdentifier(channel)}`);
  refill();
  return {
    channel,
    close: async () => {
      closed = true;
      await making;
      await drops;
      await Promise.all([listener.end(), maker.end()]).catch(() => undefined);
    },
  };
}

/** Sends `payload` (a database to drop, or {@link REFILL}) to the run's keeper; returns once it is sent. */
export async function tellKeeper(admin: Client, channel: string, payload: string): Promise<void> {
  await admin.query('select pg_notify($1, $2)', [channel, payload]);
}

/** PostgreSQL's "database does not exist": another worker renamed that spare first. */
const UNDEFINED_DATABASE = '3D000';

/** Renames a ready-made clone to `name`; false when there is none left (the caller clones the template). */
export async function claimSpare(admin: Client, prefix: string, name: string): Promise<boolean> {
  const { rows } = await admin.query<{ datname: string }>(
    'select datname from pg_database where starts_with(datname, $1)',
    [sparePrefix(prefix)],
  );
  for (const { datname } of rows) {
    try {
      await admin.query(`alter database ${admin.escapeIdentifier(datname)} rename to ${admin.escapeIdentifier(name)}`);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code !== UNDEFINED_DATABASE) throw err;
    }
  }
  return false;
}
