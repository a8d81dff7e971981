import { Migration } from '@mikro-orm/migrations';

/** Personal access tokens get a scope (read-only or full) and an optional expiry; existing tokens stay full, unexpiring. */
export class Migration20261201001001_api_token_scopes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "api_tokens" add column "scope" varchar(8) not null default 'full' check ("scope" in ('read', 'full')), add column "expires_at" timestamptz null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "api_tokens" drop column "scope", drop column "expires_at";`);
  }
}
