import { Migration } from '@mikro-orm/migrations';

/** Share with collaborators: the pipeline of each track, the files it copies and the people it invites. */
export class Migration20261127000005_collaboration extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "collab_pipelines" (
        "id" uuid primary key,
        "track_id" uuid not null unique references "tracks" ("id") on delete cascade,
        "generation" integer not null default 1,
        "run" integer not null default 0,
        "status" varchar(16) not null default 'not_shared' check ("status" in ('not_shared', 'running', 'done', 'failed')),
        "step" varchar(16) null check ("step" in ('folder', 'files', 'invites')),
        "access_level" varchar(16) not null default 'editor' check ("access_level" in ('editor', 'viewer')),
        "folder_path" text null,
        "shared_folder_id" varchar(64) null,
        "folder_url" text null,
        "copy_job_id" varchar(128) null,
        "copy_attempted" boolean not null default false,
        "rerun_requested" boolean not null default false,
        "error_code" varchar(64) null,
        "error_message" text null,
        "progress_at" timestamptz null,
        "members_refreshed_at" timestamptz null,
        "started_at" timestamptz null,
        "finished_at" timestamptz null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    // The scheduled sweep looks for running pipelines that stopped moving and shared ones due for a refresh.
    this.addSql(
      `create index "collab_pipelines_status_progress_index" on "collab_pipelines" ("status", "progress_at");`,
    );
    this.addSql(`
      create table "collab_files" (
        "id" uuid primary key,
        "pipeline_id" uuid not null references "collab_pipelines" ("id") on delete cascade,
        "track_file_id" uuid null references "track_files" ("id") on delete set null,
        "source_id" varchar(64) not null,
        "name" varchar(255) not null,
        "content_hash" varchar(64) null,
        "size" bigint not null default 0,
        "is_package" boolean not null default false,
        "target_path" text not null,
        "status" varchar(16) not null default 'pending' check ("status" in ('pending', 'copied', 'skipped')),
        "error" text null,
        "created_at" timestamptz not null default now(),
        constraint "collab_files_pipeline_id_source_id_unique" unique ("pipeline_id", "source_id")
      );`);
    this.addSql(`create index "collab_files_track_file_index" on "collab_files" ("track_file_id");`);
    this.addSql(`
      create table "collab_members" (
        "id" uuid primary key,
        "pipeline_id" uuid not null references "collab_pipelines" ("id") on delete cascade,
        "collaborator_id" uuid not null references "collaborators" ("id") on delete cascade,
        "name" varchar(120) not null,
        "email" varchar(320) null,
        "state" varchar(16) not null default 'queued'
          check ("state" in ('queued', 'invited', 'joined', 'no_email', 'failed')),
        "error" text null,
        "updated_at" timestamptz not null default now(),
        constraint "collab_members_pipeline_id_collaborator_id_unique" unique ("pipeline_id", "collaborator_id")
      );`);
    this.addSql(`create index "collab_members_collaborator_index" on "collab_members" ("collaborator_id");`);
  }

  override async down(): Promise<void> {
    for (const table of ['collab_members', 'collab_files', 'collab_pipelines'])
      this.addSql(`drop table if exists "${table}";`);
  }
}
