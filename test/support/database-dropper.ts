import { Client } from 'pg';

/**
 * DROP DATABASE makes PostgreSQL run a checkpoint first, which writes out every dirty page of the whole server —
 * seconds while the other worker's spec is busy writing. A spec's afterAll need not wait for that: it hands the
 * name to this listener in Jest's parent process (a NOTIFY), which drops the databases one by one beside the next
 * specs. Global teardown waits for the queue, then sweeps whatever is left as before.
 */
export interface DatabaseDropper {
  /** The NOTIFY channel workers send database names to. */
  channel: string;
  /** Waits for the drops asked for so far and stops listening. */
  close(): Promise<void>;
}

export function dropChannel(runId: string): string {
  return `pd_test_drops_${runId}`;
}

export async function startDatabaseDropper(adminUrl: string, runId: string, prefix: string): Promise<DatabaseDropper> {
  const channel = dropChannel(runId);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  let queue = Promise.resolve();
  client.on('notification', ({ channel: from, payload }) => {
    // Only this run's clones: the channel is the run's, but a name is never trusted blindly with DROP.
    if (from !== channel || !payload?.startsWith(prefix)) return;
    queue = queue
      .then(() => client.query(`drop database if exists ${client.escapeIdentifier(payload)} with (force)`))
      // A failed drop is retried by teardown's sweep, which drops every clone of the run that is still there.
      .then(
        () => undefined,
        () => undefined,
      );
  });
  // Without a listener pg rethrows a lost connection as an uncaught error; teardown's sweep covers the drops.
  client.on('error', () => undefined);
  await client.query(`listen ${client.escapeIdentifier(channel)}`);
  return {
    channel,
    close: async () => {
      await queue;
      await client.end().catch(() => undefined);
    },
  };
}

/** Asks the run's dropper to drop `name` (returns once the request is sent, not once it is done). */
export async function requestDrop(adminUrl: string, channel: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('select pg_notify($1, $2)', [channel, name]);
  } finally {
    await client.end();
  }
}
