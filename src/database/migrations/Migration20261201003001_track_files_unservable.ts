import { Migration } from '@mikro-orm/migrations';

/** Files Dropbox lists but won't serve (cloud documents, restricted content, banned links) remember why. */
export class Migration20261201003001_track_files_unservable extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "track_files" add column "unservable" varchar(32) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "track_files" drop column if exists "unservable";`);
  }
}
