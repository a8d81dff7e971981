import { MikroORM } from '@mikro-orm/postgresql';
import Redis from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { SecretBox } from '../../src/common/crypto/secret-box';
import { runMigrations } from '../../src/database/migrate';
import { migrationOptions } from '../../src/database/migration-options';
import { newShareToken, shareTokenAad, shareTokenHash } from '../../src/modules/share/share-rules';
import { api, makeTrack, selectionOf, ShareWorld, startShareWorld, tokenOf } from '../integration/share-support';
import { startTestApp } from '../support/app';
import { serverDatabaseUrl, TEST_DATABASE_PREFIX } from '../support/leftovers';
import { signedInUser } from '../support/users';

async function dumpTable(databaseUrl: string, table: string): Promise<string> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    return JSON.stringify((await db.query(`select * from "${table}"`)).rows);
  } finally {
    await db.end();
  }
}

/** Every key name under the prefix, and the values of the short ones (records, pointers; not rendered pages). */
async function redisDump(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      if ((await redis.type(key)) === 'string' && !key.includes(':share:html:'))
        parts.push((await redis.get(key)) ?? '');
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

/**
 * A database dump or a Redis SCAN must not hand out working links: shares are found by the SHA-256 of their token,
 * Redis keys are named by that hash, and the token itself is sealed with ENCRYPTION_KEY so its owner can still copy
 * the link. Links made before this are migrated: hashed in SQL, sealed by `npm run migrate`.
 */
describe('security: share tokens are not stored in clear', () => {
  describe('a running server', () => {
    let w: ShareWorld;
    let redis: Redis;
    const tokens: string[] = [];

    beforeAll(async () => {
      w = await startShareWorld();
      redis = new Redis(w.t.config.redis.url);
      const track = await makeTrack(
        w.producer,
        w.dbx,
        { title: 'Vault Mix' },
        { 'Bounces/Vault.wav': Buffer.from('RIFF') },
      );
      const files = Object.values(await selectionOf(w.producer, track.id));
      for (const password of [undefined, 'a long password']) {
        const res = await api(w.producer).post('/api/v1/shares', {
          tracks: [{ trackId: track.id, files }],
          ...(password ? { password } : {}),
        });
        expect(res.status).toBe(201);
        tokens.push(tokenOf(res.body.url));
      }
      // Views fill the caches: access records, page pointers, rendered pages.
      for (const token of tokens) expect((await w.t.client().get(`/s/${token}`)).status).toBe(200);
    });
    afterAll(async () => {
      redis?.disconnect();
      await w?.close();
    });

    it('keeps no token in any column of shares, or in any Redis key name or record', async () => {
      const table = await dumpTable(w.t.databaseUrl, 'shares');
      const cached = await redisDump(redis, w.t.config.redis.prefix);
      for (const token of tokens) {
        expect(table).toContain(shareTokenHash(token));
        expect({ token, inTable: table.includes(token), inRedis: cached.includes(token) }).toEqual({
          token,
          inTable: false,
          inRedis: false,
        });
      }
      expect(cached).toContain(`:share:rec:${shareTokenHash(tokens[0])}`);
    });

    it('still gives the owner the link to copy, on the page and in the API', async () => {
      const list = await api(w.producer).get('/api/v1/shares');
      const urls = (list.body as Array<{ url: string }>).map((s) => tokenOf(s.url));
      expect(urls.sort()).toEqual([...tokens].sort());
      expect((await w.producer.browser.get('/shares')).status).toBe(200);
    });

    it('does not open a sealed token moved to another row', async () => {
      const db = new Client({ connectionString: w.t.databaseUrl });
      await db.connect();
      try {
        const { rows } = await db.query<{ id: string; token_sealed: string }>(
          `select id, token_sealed from shares order by created_at limit 2`,
        );
        const box = new SecretBox(w.t.config.encryption.key);
        expect(box.open(rows[0].token_sealed, shareTokenAad(rows[0].id))).toMatch(/^[A-Za-z0-9_-]{24}$/);
        expect(() => box.open(rows[0].token_sealed, shareTokenAad(rows[1].id))).toThrow();
      } finally {
        await db.end();
      }
    });
  });

  describe('links made before tokens were hashed', () => {
    const adminUrl = () => process.env.PD_TEST_ADMIN_DATABASE_URL!;
    const name = `${TEST_DATABASE_PREFIX}${process.env.PD_TEST_RUN_ID}_tokens_${randomBytes(4).toString('hex')}`;
    let databaseUrl: string;
    const key = randomBytes(32);
    const legacy = [newShareToken(), newShareToken(), newShareToken()];

    beforeAll(async () => {
      const admin = new Client({ connectionString: adminUrl() });
      await admin.connect();
      await admin.query(`create database ${admin.escapeIdentifier(name)}`);
      await admin.end();
      databaseUrl = serverDatabaseUrl(adminUrl(), name);
      // The schema as the previous release left it, with links holding their tokens in clear.
      const orm = await MikroORM.init({ ...migrationOptions(databaseUrl), logger: () => undefined });
      await orm.migrator.up({ to: 'Migration20261127000005_collaboration' });
      await orm.close(true);
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      const owner = randomUUID();
      await db.query(
        `insert into users (id, email, name, password_hash, role) values ($1, 'old@studio.test', 'Old', 'x', 'producer')`,
        [owner],
      );
      for (const token of legacy) {
        await db.query(`insert into shares (id, owner_id, token, title) values ($1, $2, $3, 'Old link')`, [
          randomUUID(),
          owner,
          token,
        ]);
      }
      await db.end();
    });
    afterAll(async () => {
      const admin = new Client({ connectionString: adminUrl() });
      await admin.connect();
      await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
      await admin.end();
    });

    it('hashes them in the migration and seals them in the migrate command’s data step; the links keep working', async () => {
      const applied = await runMigrations(databaseUrl, { key });
      expect(applied).toContain('Migration20261201001000_share_token_hashes');
      // Running it again finds nothing left to do.
      expect(await runMigrations(databaseUrl, { key })).toEqual([]);

      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      const { rows } = await db.query<{ id: string; token: string | null; token_hash: string; token_sealed: string }>(
        `select id, token, token_hash, token_sealed from shares`,
      );
      await db.end();
      const box = new SecretBox(key);
      expect(rows.map((r) => r.token)).toEqual([null, null, null]);
      expect(rows.map((r) => box.open(r.token_sealed, shareTokenAad(r.id))).sort()).toEqual([...legacy].sort());
      expect(rows.map((r) => r.token_hash).sort()).toEqual(legacy.map(shareTokenHash).sort());
      expect(JSON.stringify(rows)).not.toContain(legacy[0]);

      // The server on the migrated database, with the same key: the old link opens and can be copied again.
      const t = await startTestApp({ databaseUrl, env: { ENCRYPTION_KEY: key.toString('base64') } });
      try {
        const res = await t.client().get(`/s/${legacy[0]}`);
        expect(res.status).toBe(200);
        expect((await t.client().get(`/s/${newShareToken()}`)).status).toBe(404);
        const admin = await signedInUser(t, 'admin');
        const list = await admin.browser.get('/admin/shares');
        for (const token of legacy) expect(list.text).toContain(`/s/${token}`);
      } finally {
        await t.close();
      }
    });

    it('re-seals them with the new key after an ENCRYPTION_KEY rotation (npm run migrate)', async () => {
      const newKey = randomBytes(32);
      expect(await runMigrations(databaseUrl, { key: newKey, previousKey: key })).toEqual([]);
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      const { rows } = await db.query<{ id: string; token_sealed: string }>(`select id, token_sealed from shares`);
      await db.end();
      const onlyNew = new SecretBox(newKey);
      expect(rows.map((r) => onlyNew.open(r.token_sealed, shareTokenAad(r.id))).sort()).toEqual([...legacy].sort());
    });
  });
});
