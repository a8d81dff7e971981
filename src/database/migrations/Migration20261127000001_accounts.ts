import { Migration } from '@mikro-orm/migrations';

export class Migration20261127000001_accounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "users" (
        "id" uuid primary key,
        "email" varchar(320) not null unique,
        "name" varchar(120) not null,
        "password_hash" varchar(255) not null,
        "role" varchar(16) not null check ("role" in ('admin', 'producer')),
        "disabled" boolean not null default false,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      );`);
    this.addSql(`
      create table "api_tokens" (
        "id" uuid primary key,
        "user_id" uuid not null references "users" ("id") on delete cascade,
        "name" varchar(80) not null,
        "token_hash" varchar(64) not null unique,
        "prefix" varchar(16) not null,
        "created_at" timestamptz not null default now(),
        "last_used_at" timestamptz null
      );`);
    this.addSql(`create index "api_tokens_user_id_index" on "api_tokens" ("user_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_tokens";`);
    this.addSql(`drop table if exists "users";`);
  }
}
