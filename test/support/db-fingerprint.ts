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
