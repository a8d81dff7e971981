import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { ensureRedis, freePort, REDIS_SERVER_MISSING, RedisServer, redisAnswers } from '../../tools/services';
import { createTestDatabase, startPrivatePostgres } from './database';
import { makeTempDir } from './leftovers';
import { deleteRedisPrefix, startPrivateRedis, testRedisUrl, uniqueRedisPrefix } from './redis';

/** Pids of processes whose command line mentions `needle` (Linux /proc). */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('service helpers', () => {
  it('freePort returns a port that can be bound', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('ensureRedis uses a server that answers, and otherwise starts one it stops without leftovers', async () => {
    const dir = makeTempDir('private-redis');
    try {
      const existing = await ensureRedis({ dataDir: dir, url: testRedisUrl() });
      expect(existing).toMatchObject({ url: testRedisUrl(), started: false });

      const deadUrl = `redis://127.0.0.1:${await freePort()}`;
      const own = await ensureRedis({ dataDir: dir, url: deadUrl });
      expect(own.started).toBe(true);
      expect(own.url).not.toBe(deadUrl);
      expect(await redisAnswers(own.url)).toBe(true);
      // redis-server rewrites its command line to "redis-server 127.0.0.1:<port>".
      const title = `127.0.0.1:${new URL(own.url).port}`;
      expect(processesMentioning(title)).toHaveLength(1);

      await own.stop();
      expect(await redisAnswers(own.url)).toBe(false);
      expect(processesMentioning(title)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says in one line how to install redis-server when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(RedisServer.start({ dataDir: join(tmpdir(), 'unused') })).rejects.toThrow(REDIS_SERVER_MISSING);
    } finally {
      process.env.PATH = path;
    }
    expect(REDIS_SERVER_MISSING).not.toContain('\n');
    expect(REDIS_SERVER_MISSING).toContain('apt-get install redis-server');
    expect(REDIS_SERVER_MISSING).toContain('brew install redis');
  });

  it('a private Redis keeps its data across a restart (append-only file)', async () => {
    const redis = await startPrivateRedis({ appendOnly: true });
    try {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      await client.set('survives', 'yes');
      client.disconnect();

      await redis.stop();
      expect(await redisAnswers(redis.url)).toBe(false);
      await redis.restart();

      const again = new Redis(redis.url);
      expect(await again.get('survives')).toBe('yes');
      again.disconnect();
    } finally {
      await redis.destroy();
    }
  });

  it('a private PostgreSQL keeps its data across a restart and leaves no process once stopped', async () => {
    const pg = await startPrivatePostgres();
    try {
      const url = await pg.database('resilience');
      await query(url, 'create table marks (id int primary key); insert into marks values (1)');

      await pg.restart();
      expect(await query<{ id: number }>(url, 'select id from marks')).toEqual([{ id: 1 }]);

      await pg.stop();
      expect(processesMentioning(pg.dataDir)).toEqual([]);
      expect(existsSync(join(pg.dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      await pg.destroy();
    }
  });

  it('createTestDatabase hands out migrated clones of the template, also concurrently', async () => {
    const databases = await Promise.all(Array.from({ length: 4 }, () => createTestDatabase()));
    try {
      expect(new Set(databases.map((d) => d.url)).size).toBe(4);
      for (const db of databases) {
        const tables = await query<{ tablename: string }>(
          db.url,
          "select tablename from pg_tables where schemaname = 'public' and tablename = 'users'",
        );
        expect(tables).toEqual([{ tablename: 'users' }]);
      }
    } finally {
      await Promise.all(databases.map((d) => d.drop()));
    }
    const name = new URL(databases[0].url).pathname.slice(1);
    const left = await query(
      process.env.PD_TEST_ADMIN_DATABASE_URL ?? '',
      `select 1 from pg_database where datname = '${name}'`,
    );
    expect(left).toEqual([]);
  });

  it('deleteRedisPrefix removes only the keys under its own prefix', async () => {
    const mine = uniqueRedisPrefix();
    const other = uniqueRedisPrefix();
    expect(mine).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(mine).not.toBe(other);
    const client = new Redis(testRedisUrl());
    try {
      await client.mset(`${mine}:a`, '1', `${mine}-bull:q:1`, '2', `${other}:a`, '3');
      expect(await deleteRedisPrefix(mine)).toBe(2);
      expect(await client.exists(`${mine}:a`, `${mine}-bull:q:1`)).toBe(0);
      expect(await client.get(`${other}:a`)).toBe('3');
    } finally {
      await client.del(`${other}:a`);
      client.disconnect();
    }
  });
});
