import { Migration } from '@mikro-orm/migrations';

/**
 * A link per recipient (each with its own token, stored hashed, its own revoke and expiry, its own counters), the
 * listened seconds of shares and recipients, and listening statistics per share, recipient and file (plays,
 * play sessions, seconds heard, the sum of the shares of the file heard, and where sessions stopped by tenth).
 */
export class Migration20261201100000_share_recipients extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "share_recipients" (
        "id" uuid not null primary key,
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "name" varchar(200) not null,
        "email" varchar(320) null,
        "note" text null,
        "token_hash" varchar(64) not null unique,
        "token_sealed" text not null,
        "expires_at" timestamptz null,
        "revoked_at" timestamptz null,
        "views" bigint not null default 0,
        "plays" bigint not null default 0,
        "listened_seconds" double precision not null default 0,
        "downloads_bounce" bigint not null default 0,
        "downloads_project" bigint not null default 0,
        "downloads_stem" bigint not null default 0,
        "last_accessed_at" timestamptz null,
        "created_at" timestamptz not null
      );`);
    this.addSql(
      `create index "share_recipients_share_id_created_at_index" on "share_recipients" ("share_id", "created_at");`,
    );
    this.addSql(`alter table "shares" add column "listened_seconds" double precision not null default 0;`);
    this.addSql(`
      create table "share_listens" (
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "recipient_id" uuid null references "share_recipients" ("id") on delete cascade,
        "file_id" uuid not null references "track_files" ("id") on delete cascade,
        "sessions" bigint not null default 0,
        "plays" bigint not null default 0,
        "listened_seconds" double precision not null default 0,
        "share_sum" double precision not null default 0,
        "stops" bigint[] not null default '{0,0,0,0,0,0,0,0,0,0}' check (cardinality("stops") = 10)
      );`);
    // One row per share, recipient (or the share's own link) and file; the flush upserts into it.
    this.addSql(`
      create unique index "share_listens_key" on "share_listens"
        ("share_id", "file_id", (coalesce("recipient_id", '00000000-0000-0000-0000-000000000000'::uuid)));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "share_listens";`);
    this.addSql(`alter table "shares" drop column if exists "listened_seconds";`);
    this.addSql(`drop table if exists "share_recipients";`);
  }
}
