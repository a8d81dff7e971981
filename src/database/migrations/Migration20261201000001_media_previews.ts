import { Migration } from '@mikro-orm/migrations';

export class Migration20261201000001_media_previews extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "media_previews" (
        "id" uuid primary key,
        "file_id" uuid not null references "track_files" ("id") on delete cascade,
        "revision" varchar(64) not null,
        "status" varchar(16) not null default 'pending' check ("status" in ('pending', 'ready', 'failed')),
        "reason" text null,
        "dropbox_id" varchar(64) null,
        "dropbox_path" text null,
        "dropbox_rev" varchar(64) null,
        "size" bigint null,
        "duration_seconds" double precision null,
        "peaks" bytea null,
        "loudness_lufs" double precision null,
        "true_peak_db" double precision null,
        "build_ms" integer null,
        "rebuilds" integer not null default 0,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(
      `create unique index "media_previews_file_id_revision_unique" on "media_previews" ("file_id", "revision");`,
    );
    this.addSql(`create index "media_previews_status_updated_at_index" on "media_previews" ("status", "updated_at");`);
    // A share may let recipients play the originals of download-enabled categories instead of their previews.
    this.addSql(`alter table "shares" add column "stream_originals" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "shares" drop column "stream_originals";`);
    this.addSql(`drop table if exists "media_previews";`);
  }
}
