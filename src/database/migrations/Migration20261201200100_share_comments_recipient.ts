import { Migration } from '@mikro-orm/migrations';

/** A comment written on a recipient's own link points at that recipient (the two tables were built side by side). */
export class Migration20261201200100_share_comments_recipient extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "share_comments"
        add constraint "share_comments_recipient_id_foreign"
        foreign key ("recipient_id") references "share_recipients" ("id") on delete set null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "share_comments" drop constraint if exists "share_comments_recipient_id_foreign";`);
  }
}
