import { Client } from 'pg';

/**
 * A digest of every row of every table (bar the migrations table): equal before and after means a request
 * changed nothing in PostgreSQL.
 */
export async function databaseFingerprint(databaseUrl: string): Promise<Record<string, string>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by tablename",
    );
    const digest: Record<string, string> = {};
    for (const { tablename } of tables.rows) {
      const table = client.escapeIdentifier(tablename);
      const row = await client.query<{ md5: string }>(
        `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as md5 from ${table} t`,
      );
      digest[tablename] = row.rows[0].md5;
    }
    return digest;
  } finally {
    await client.end();
  }
}

/**
 * A cheap "did anything write?" for tests that check it after many requests: a row trigger on every table bumps a
 * sequence. Sequences ignore rollbacks, so even a write that was rolled back counts — stricter than needed.
 */
export interface ChangeCounter {
  (): Promise<number>;
  close(): Promise<void>;
}

export async function installChangeCounter(databaseUrl: string): Promise<ChangeCounter> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create sequence if not exists pd_test_changes`);
    await client.query(`
      create or replace function pd_test_count_change() returns trigger language plpgsql as $$
      begin perform nextval('pd_test_changes'); return null; end $$`);
    const tables = await client.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations'",
    );
    for (const { tablename } of tables.rows) {
      const table = client.escapeIdentifier(tablename);
      await client.query(`drop trigger if exists pd_test_count_change on ${table}`);
      await client.query(
        `create trigger pd_test_count_change after insert or update or delete on ${table} for each row execute function pd_test_count_change()`,
      );
    }
  } finally {
    await client.end();
  }
  const reader = new Client({ connectionString: databaseUrl });
  // Dropping the test database ends this connection; that is expected, not an error.
  reader.on('error', () => undefined);
  await reader.connect();
  const count = async () => {
    const { rows } = await reader.query<{ last_value: string; is_called: boolean }>(
      'select last_value, is_called from pd_test_changes',
    );
    return rows[0].is_called ? Number(rows[0].last_value) : 0;
  };
  return Object.assign(count, { close: () => reader.end().catch(() => undefined) });
}
