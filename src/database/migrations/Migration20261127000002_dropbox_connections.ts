import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000002_dropbox_connections extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "dropbox_connections" (
        "id" uuid primary key,
        "user_id" uuid not null unique references "users" ("id") on delete cascade,
        "account_id" varchar(64) not null,
        "email" varchar(320) not null,
        "display_name" varchar(255) not null,
        "refresh_token_sealed" text not null,
        "access_token_sealed" text null,
        "access_token_expires_at" timestamptz null,
        "status" varchar(16) not null default 'active' check ("status" in ('active', 'expired')),
        "status_reason" varchar(255) null,
        "scopes" varchar(1024) not null,
        "connected_at" timestamptz not null default now(),
        "last_refreshed_at" timestamptz null
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "dropbox_connections";`);
  }
}
