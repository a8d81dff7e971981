import { Migration } from '@mikro-orm/migrations';

/**
 * Share links are looked up by the SHA-256 of their token, no longer by the token in clear. The hash is computed
 * here, in SQL, so every existing link keeps working the moment this runs. Sealing the tokens themselves needs
 * ENCRYPTION_KEY, which SQL doesn't have: `npm run migrate` does that right after the migrations
 * (sealLegacyShareTokens), moving each token into `token_sealed` and clearing `token`.
 */
export class Migration20261201001000_share_token_hashes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "shares" add column "token_hash" varchar(64) null, add column "token_sealed" text null;`);
    this.addSql(`update "shares" set "token_hash" = encode(sha256(convert_to("token", 'UTF8')), 'hex');`);
    this.addSql(`alter table "shares" alter column "token_hash" set not null;`);
    this.addSql(`create unique index "shares_token_hash_unique" on "shares" ("token_hash");`);
    this.addSql(`drop index "shares_token_unique";`);
    this.addSql(`alter table "shares" alter column "token" drop not null;`);
  }

  override async down(): Promise<void> {
    // Tokens already sealed can't be recovered in SQL: such links stop working after a down migration.
    this.addSql(`delete from "shares" where "token" is null;`);
    this.addSql(`alter table "shares" alter column "token" set not null;`);
    this.addSql(`create unique index "shares_token_unique" on "shares" ("token");`);
    this.addSql(`drop index "shares_token_hash_unique";`);
    this.addSql(`alter table "shares" drop column "token_hash", drop column "token_sealed";`);
  }
}
