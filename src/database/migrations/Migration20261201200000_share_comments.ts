import { Migration } from '@mikro-orm/migrations';

/**
 * Comments at a time on a share's files (off by default), the producer's replies, requests for more time on an
 * expired link (each one's extend link works once), and the expiry each link was last warned about.
 */
export class Migration20261201200000_share_comments extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "shares"
        add column "comments" boolean not null default false,
        add column "comments_public" boolean not null default false,
        add column "expiry_warned_for" timestamptz null;`);
    this.addSql(`
      create table "share_comments" (
        "id" uuid not null primary key,
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "file_id" uuid not null references "track_files" ("id") on delete cascade,
        "parent_id" uuid null references "share_comments" ("id") on delete cascade,
        "at_seconds" double precision not null check ("at_seconds" >= 0),
        "body" text not null check (char_length("body") between 1 and 2000),
        "author_name" varchar(100) not null,
        "from_owner" boolean not null default false,
        "recipient_id" uuid null,
        "visitor_hash" varchar(64) null,
        "resolved_at" timestamptz null,
        "created_at" timestamptz not null
      );`);
    this.addSql(
      `create index "share_comments_share_id_created_at_index" on "share_comments" ("share_id", "created_at");`,
    );
    this.addSql(`create index "share_comments_parent_id_index" on "share_comments" ("parent_id");`);
    this.addSql(`
      create table "share_access_requests" (
        "id" uuid not null primary key,
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "name" varchar(100) not null,
        "message" text null,
        "created_at" timestamptz not null,
        "extended_at" timestamptz null
      );`);
    this.addSql(`create index "share_access_requests_share_id_index" on "share_access_requests" ("share_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "share_access_requests";`);
    this.addSql(`drop table if exists "share_comments";`);
    this.addSql(
      `alter table "shares" drop column "comments", drop column "comments_public", drop column "expiry_warned_for";`,
    );
  }
}
