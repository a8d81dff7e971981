import { Migration } from '@mikro-orm/migrations';

/** A connection whose Dropbox answered "full" remembers it (and the figures) until a write succeeds again. */
export class Migration20261201003000_dropbox_storage_full extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "dropbox_connections"
        add column "storage_full_at" timestamptz null,
        add column "space_used_bytes" bigint null,
        add column "space_allocated_bytes" bigint null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table "dropbox_connections"
        drop column if exists "storage_full_at",
        drop column if exists "space_used_bytes",
        drop column if exists "space_allocated_bytes";`);
  }
}
