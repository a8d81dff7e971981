import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000003_files extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "tracks" (
        "id" uuid primary key,
        "owner_id" uuid not null references "users" ("id") on delete cascade,
        "title" varchar(200) not null,
        "artist" varchar(200) null,
        "bpm" smallint null check ("bpm" between 20 and 400),
        "musical_key" varchar(16) null,
        "sharing_status" varchar(16) not null default 'private'
          check ("sharing_status" in ('private', 'preview', 'collaborative', 'released')),
        "dropbox_folder_id" varchar(64) null,
        "dropbox_folder_path" text null,
        "artwork_version" integer not null default 0,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`create index "tracks_owner_id_created_at_index" on "tracks" ("owner_id", "created_at");`);
    this.addSql(`create index "tracks_owner_title_search" on "tracks" ("owner_id", lower("title"));`);
    this.addSql(`
      create table "track_artwork" (
        "track_id" uuid primary key references "tracks" ("id") on delete cascade,
        "large" bytea not null,
        "small" bytea not null,
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`
      create table "collaborators" (
        "id" uuid primary key,
        "owner_id" uuid not null references "users" ("id") on delete cascade,
        "name" varchar(120) not null,
        "email" varchar(320) null,
        "role" varchar(60) not null,
        "created_at" timestamptz not null default now()
      );`);
    this.addSql(
      `create unique index "collaborators_owner_email_unique" on "collaborators" ("owner_id", "email") where "email" is not null;`,
    );
    this.addSql(`
      create table "track_collaborators" (
        "track_id" uuid not null references "tracks" ("id") on delete cascade,
        "collaborator_id" uuid not null references "collaborators" ("id") on delete cascade,
        "added_at" timestamptz not null default now(),
        primary key ("track_id", "collaborator_id")
      );`);
    this.addSql(`create index "track_collaborators_collaborator_index" on "track_collaborators" ("collaborator_id");`);
    this.addSql(`
      create table "track_files" (
        "id" uuid primary key,
        "track_id" uuid not null references "tracks" ("id") on delete cascade,
        "category" varchar(16) not null check ("category" in ('bounce', 'project', 'stem')),
        "name" varchar(255) not null,
        "dropbox_id" varchar(64) not null,
        "dropbox_path" text not null,
        "rev" varchar(64) null,
        "size" bigint not null default 0,
        "content_hash" varchar(64) null,
        "is_package" boolean not null default false,
        "is_master" boolean not null default false,
        "status" varchar(16) not null default 'ready' check ("status" in ('ready', 'missing')),
        "duration_seconds" double precision null,
        "sample_rate" integer null,
        "bits_per_sample" smallint null,
        "channels" smallint null,
        "codec" varchar(64) null,
        "bitrate" integer null,
        "created_at" timestamptz not null default now(),
        constraint "track_files_track_id_dropbox_id_unique" unique ("track_id", "dropbox_id")
      );`);
    // One master bounce per track, enforced by the database.
    this.addSql(`create unique index "track_files_one_master" on "track_files" ("track_id") where "is_master";`);
    this.addSql(`
      create table "uploads" (
        "id" uuid primary key,
        "track_id" uuid not null references "tracks" ("id") on delete cascade,
        "category" varchar(16) not null check ("category" in ('bounce', 'project', 'stem')),
        "file_name" varchar(255) not null,
        "size" bigint not null,
        "content_hash" varchar(64) not null,
        "spool_path" text not null,
        "target_path" text null,
        "status" varchar(16) not null default 'queued' check ("status" in ('queued', 'uploading', 'done', 'failed')),
        "bytes_uploaded" bigint not null default 0,
        "checkpoint" jsonb null,
        "error" text null,
        "track_file_id" uuid null references "track_files" ("id") on delete set null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`create index "uploads_track_id_index" on "uploads" ("track_id", "created_at");`);
  }

  override async down(): Promise<void> {
    for (const table of ['uploads', 'track_files', 'track_collaborators', 'collaborators', 'track_artwork', 'tracks']) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
