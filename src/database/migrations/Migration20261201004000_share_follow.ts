import { Migration } from '@mikro-orm/migrations';

/**
 * A track on a share can follow categories of its library: every file of those categories, now and later, is on
 * the link. Empty (the default) keeps the fixed selection of files.
 */
export class Migration20261201004000_share_follow extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "share_tracks"
        add column "follow" text[] not null default '{}'
          check ("follow" <@ array['bounce', 'project', 'stem']::text[]);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "share_tracks" drop column "follow";`);
  }
}
