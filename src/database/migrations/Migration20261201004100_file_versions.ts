import { Migration } from '@mikro-orm/migrations';

/**
 * New versions of files: an upload says what to do when its name is taken in its category (`rename`: keep both,
 * as before; `replace`: a new revision of that file), and a library file knows when its contents last changed.
 */
export class Migration20261201004100_file_versions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "uploads"
        add column "conflict" varchar(8) not null default 'rename' check ("conflict" in ('rename', 'replace'));`);
    this.addSql(`alter table "track_files" add column "modified_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "uploads" drop column "conflict";`);
    this.addSql(`alter table "track_files" drop column "modified_at";`);
  }
}
