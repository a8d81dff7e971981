import { Migration } from '@mikro-orm/migrations';

/**
 * An invitation that left Dropbox's pending list without its address joining (accepted under another address, or
 * declined) is `gone`: never re-sent by itself. `accepted_as` keeps the address it was accepted under, when known.
 */
export class Migration20261201003003_collab_members_gone extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "collab_members"
        drop constraint if exists "collab_members_state_check",
        add constraint "collab_members_state_check" check ("state" in ('queued', 'invited', 'joined', 'no_email', 'failed', 'removed', 'gone')),
        add column "accepted_as" varchar(320) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`update "collab_members" set "state" = 'queued' where "state" = 'gone';`);
    this.addSql(`
      alter table "collab_members"
        drop column if exists "accepted_as",
        drop constraint if exists "collab_members_state_check",
        add constraint "collab_members_state_check" check ("state" in ('queued', 'invited', 'joined', 'no_email', 'failed', 'removed'));`);
  }
}
