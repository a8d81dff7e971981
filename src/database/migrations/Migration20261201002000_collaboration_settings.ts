import { Migration } from '@mikro-orm/migrations';

/**
 * Share settings for collaborator shares: an end date after which the invited collaborators are removed from the
 * Dropbox folder, per-category downloads (a category whose downloads are off is left out of the folder unless the
 * producer chose to put it in anyway), and the member state `removed` (access ended; Extend invites them again).
 */
export class Migration20261201002000_collaboration_settings extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "collab_pipelines"
        add column "expiry" varchar(8) not null default 'never' check ("expiry" in ('7d', '30d', '90d', 'never')),
        add column "expires_at" timestamptz null,
        add column "expiry_version" integer not null default 0,
        add column "access_ending_at" timestamptz null,
        add column "access_ended_at" timestamptz null,
        add column "expiry_error" text null,
        add column "download_bounce" boolean not null default true,
        add column "download_project" boolean not null default true,
        add column "download_stem" boolean not null default true,
        add column "include_disabled" boolean not null default false;`);
    // The sweep looks for ends that have come and whose access is not ended yet.
    this.addSql(
      `create index "collab_pipelines_expires_at_index" on "collab_pipelines" ("expires_at") where "expires_at" is not null and "access_ended_at" is null;`,
    );
    this.addSql(`alter table "collab_members" drop constraint if exists "collab_members_state_check";`);
    this.addSql(
      `alter table "collab_members" add constraint "collab_members_state_check" check ("state" in ('queued', 'invited', 'joined', 'no_email', 'failed', 'removed'));`,
    );
    this.addSql(`alter table "collab_files" add column "left_out" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "collab_files" drop column if exists "left_out";`);
    this.addSql(`update "collab_members" set "state" = 'queued' where "state" = 'removed';`);
    this.addSql(`alter table "collab_members" drop constraint if exists "collab_members_state_check";`);
    this.addSql(
      `alter table "collab_members" add constraint "collab_members_state_check" check ("state" in ('queued', 'invited', 'joined', 'no_email', 'failed'));`,
    );
    this.addSql(`drop index if exists "collab_pipelines_expires_at_index";`);
    this.addSql(`
      alter table "collab_pipelines"
        drop column "expiry", drop column "expires_at", drop column "expiry_version", drop column "access_ending_at",
        drop column "access_ended_at", drop column "expiry_error", drop column "download_bounce", drop column "download_project",
        drop column "download_stem", drop column "include_disabled";`);
  }
}
