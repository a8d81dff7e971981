import type { EntityManager } from '@mikro-orm/postgresql';
import { SecretBox } from '../common/crypto/secret-box';
import { shareTokenAad, shareTokenHash } from '../modules/share/share-rules';

/**
 * The data step of Migration20261201001000: seals each share token still kept in clear (links made before tokens
 * were sealed) and clears it, in batches, each row once; then re-seals tokens sealed with a previous key. Needs ENCRYPTION_KEY, so the migrate command runs it with
 * the configuration after the SQL migrations; running it again finds nothing to do. Returns the rows sealed.
 */
export async function sealLegacyShareTokens(em: EntityManager, box: SecretBox, batchSize = 500): Promise<number> {
  let sealed = 0;
  for (;;) {
    const rows = await em.execute<Array<{ id: string; token: string; token_hash: string }>>(
      `select "id", "token", "token_hash" from "shares" where "token" is not null order by "id" limit ?`,
      [batchSize],
    );
    if (rows.length === 0) return sealed + (await resealWithCurrentKey(em, box, batchSize));
    await em.transactional(async (tx) => {
      for (const row of rows) {
        // The lookup hash was computed in SQL; a row whose hash doesn't match its token would be an unreachable link.
        if (row.token_hash !== shareTokenHash(row.token))
          throw new Error(`share ${row.id}: token_hash does not match its token`);
        await tx.execute(`update "shares" set "token_sealed" = ?, "token" = null where "id" = ? and "token" = ?`, [
          box.seal(row.token, shareTokenAad(row.id)),
          row.id,
          row.token,
        ]);
      }
    });
    sealed += rows.length;
  }
}

/** After an ENCRYPTION_KEY rotation: tokens sealed with ENCRYPTION_KEY_PREVIOUS are sealed again with the new key. */
async function resealWithCurrentKey(em: EntityManager, box: SecretBox, batchSize: number): Promise<number> {
  // `_` is a LIKE wildcard, and base64url fingerprints may contain it.
  const current = `v1.${box.currentKeyFingerprint.replace(/_/g, '\\_')}.%`;
  let resealed = 0;
  for (;;) {
    const rows = await em.execute<Array<{ id: string; token_sealed: string }>>(
      `select "id", "token_sealed" from "shares" where "token_sealed" not like ? order by "id" limit ?`,
      [current, batchSize],
    );
    if (rows.length === 0) return resealed;
    await em.transactional(async (tx) => {
      for (const row of rows) {
        const aad = shareTokenAad(row.id);
        await tx.execute(`update "shares" set "token_sealed" = ? where "id" = ? and "token_sealed" = ?`, [
          box.seal(box.open(row.token_sealed, aad), aad),
          row.id,
          row.token_sealed,
        ]);
      }
    });
    resealed += rows.length;
  }
}
