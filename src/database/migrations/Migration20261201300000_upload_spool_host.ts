import { Migration } from '@mikro-orm/migrations';

/** The host whose spool holds an upload's bytes (null: a spool shared by every process, as before). */
export class Migration20261201300000_upload_spool_host extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "uploads" add column "spool_host" varchar(63) null;`);
    // The sweep for uploads whose host went away looks only at pending rows of a named host.
    this.addSql(
      `create index "uploads_pending_spool_host_index" on "uploads" ("spool_host") where "spool_host" is not null and "status" in ('queued', 'uploading');`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "uploads_pending_spool_host_index";`);
    this.addSql(`alter table "uploads" drop column if exists "spool_host";`);
  }
}
