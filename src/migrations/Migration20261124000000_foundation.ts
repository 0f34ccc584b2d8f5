import { Migration } from '@mikro-orm/migrations';

/** Groups, users, operators, memberships, scenarios and bearer tokens. */
export class Migration20261124000000_foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "groups" (
        "id" uuid primary key,
        "name" text not null,
        "sl_first_response_sec" integer not null check ("sl_first_response_sec" between 1 and 86400),
        "sl_next_response_sec" integer not null check ("sl_next_response_sec" between 1 and 86400),
        "created_at" timestamptz not null,
        "deleted_at" timestamptz null
      );`);
    this.addSql(`create unique index "groups_name_live_unique" on "groups" (lower("name")) where "deleted_at" is null;`);

    this.addSql(`
      create table "users" (
        "id" uuid primary key,
        "email" text not null,
        "first_name" text not null,
        "last_name" text not null,
        "role" text not null check ("role" in ('ADMIN', 'SUPERVISOR', 'OPERATOR', 'INTEGRATION')),
        "password_hash" text null,
        "created_at" timestamptz not null,
        "deleted_at" timestamptz null
      );`);
    this.addSql(`create unique index "users_email_live_unique" on "users" (lower("email")) where "deleted_at" is null;`);

    this.addSql(`
      create table "operators" (
        "id" uuid primary key,
        "user_id" uuid not null unique references "users" ("id"),
        "max_dialogs" integer not null default 300 check ("max_dialogs" between 1 and 10000),
        "auto_logout_sec" integer not null default 0 check ("auto_logout_sec" between 0 and 604800),
        "status" text not null default 'OFFLINE' check ("status" in ('ONLINE', 'OFFLINE')),
        "active_dialog_count" integer not null default 0,
        "last_activity_at" timestamptz null,
        "last_assigned_at" timestamptz null,
        "created_at" timestamptz not null,
        "deleted_at" timestamptz null,
        -- Invariant 1, enforced by the database as a last line of defence.
        constraint "operators_load_within_capacity"
          check ("active_dialog_count" between 0 and "max_dialogs")
      );`);

    this.addSql(`
      create table "group_members" (
        "group_id" uuid not null references "groups" ("id") on delete cascade,
        "operator_id" uuid not null references "operators" ("id") on delete cascade,
        "created_at" timestamptz not null,
        primary key ("group_id", "operator_id")
      );`);
    this.addSql(`create index "group_members_operator_idx" on "group_members" ("operator_id");`);

    this.addSql(`
      create table "scenarios" (
        "id" uuid primary key,
        "name" text not null,
        "fallback_group_id" uuid null references "groups" ("id") on delete set null,
        "created_at" timestamptz not null
      );`);

    this.addSql(`
      create table "auth_tokens" (
        "id" uuid primary key,
        "kind" text not null check ("kind" in ('API', 'SESSION')),
        "name" text null,
        "role" text not null check ("role" in ('ADMIN', 'SUPERVISOR', 'OPERATOR', 'INTEGRATION')),
        "user_id" uuid null references "users" ("id"),
        "token_hash" text not null unique,
        "created_at" timestamptz not null,
        "revoked_at" timestamptz null
      );`);
    this.addSql(`create index "auth_tokens_user_idx" on "auth_tokens" ("user_id") where "revoked_at" is null;`);
  }
}
