import { Migration } from '@mikro-orm/migrations';

/** A connection whose Dropbox account has no verified email: Dropbox hands out no links and won't share. */
export class Migration20261201003002_dropbox_email_unverified extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "dropbox_connections" add column "email_unverified_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "dropbox_connections" drop column if exists "email_unverified_at";`);
  }
}
