import { Migration } from '@mikro-orm/migrations';

/**
 * Producer notifications: webhooks (secret sealed at rest), their delivery log, and per-producer email switches.
 */
export class Migration20261201005000_notifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "webhooks" (
        "id" uuid not null primary key,
        "owner_id" uuid not null references "users" ("id") on delete cascade,
        "url" text not null,
        "events" text[] not null,
        "secret_sealed" text not null,
        "created_at" timestamptz not null
      );`);
    this.addSql(`create index "webhooks_owner_id_index" on "webhooks" ("owner_id");`);
    this.addSql(`
      create table "webhook_deliveries" (
        "id" uuid not null primary key,
        "webhook_id" uuid not null references "webhooks" ("id") on delete cascade,
        "event_id" uuid not null,
        "event_type" varchar(40) not null,
        "attempt" int not null,
        "status" varchar(12) not null check ("status" in ('delivered', 'failed')),
        "http_status" int null,
        "error" text null,
        "at" timestamptz not null
      );`);
    this.addSql(
      `create index "webhook_deliveries_webhook_id_at_index" on "webhook_deliveries" ("webhook_id", "at" desc);`,
    );
    this.addSql(`
      create table "notification_settings" (
        "owner_id" uuid not null primary key references "users" ("id") on delete cascade,
        "email_off" text[] not null default '{}'
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "notification_settings";`);
    this.addSql(`drop table if exists "webhook_deliveries";`);
    this.addSql(`drop table if exists "webhooks";`);
  }
}
