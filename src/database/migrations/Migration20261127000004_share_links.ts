import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000004_share_links extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "shares" (
        "id" uuid primary key,
        "owner_id" uuid not null references "users" ("id") on delete cascade,
        "token" varchar(64) not null,
        "title" varchar(200) not null,
        "message" text null,
        "password_hash" varchar(255) null,
        "password_version" integer not null default 0,
        "download_bounce" boolean not null default false,
        "download_project" boolean not null default false,
        "download_stem" boolean not null default false,
        "expiry" varchar(8) not null default 'never' check ("expiry" in ('7d', '30d', '90d', 'never')),
        "expires_at" timestamptz null,
        "revoked_at" timestamptz null,
        "views" bigint not null default 0,
        "plays" bigint not null default 0,
        "downloads_bounce" bigint not null default 0,
        "downloads_project" bigint not null default 0,
        "downloads_stem" bigint not null default 0,
        "last_accessed_at" timestamptz null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`create unique index "shares_token_unique" on "shares" ("token");`);
    this.addSql(`create index "shares_owner_id_created_at_index" on "shares" ("owner_id", "created_at");`);
    this.addSql(`
      create table "share_tracks" (
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "track_id" uuid not null references "tracks" ("id") on delete cascade,
        "position" smallint not null,
        primary key ("share_id", "track_id")
      );`);
    this.addSql(`create index "share_tracks_track_id_index" on "share_tracks" ("track_id");`);
    this.addSql(`
      create table "share_files" (
        "share_id" uuid not null references "shares" ("id") on delete cascade,
        "file_id" uuid not null references "track_files" ("id") on delete cascade,
        primary key ("share_id", "file_id")
      );`);
    this.addSql(`create index "share_files_file_id_index" on "share_files" ("file_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "share_files";`);
    this.addSql(`drop table if exists "share_tracks";`);
    this.addSql(`drop table if exists "shares";`);
  }
}
