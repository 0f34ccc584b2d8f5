import { Migration } from '@mikro-orm/migrations';

/** Dialogs, messages, routing decisions, SL responses and idempotency keys. */
export class Migration20261124000100_dialogs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "dialogs" (
        "id" uuid primary key,
        "external_id" text null,
        "client_name" text null,
        "status" text not null check ("status" in ('BOT', 'QUEUED', 'ASSIGNED', 'CLOSED')),
        "scenario_id" uuid null references "scenarios" ("id") on delete set null,
        "group_id" uuid null references "groups" ("id"),
        "operator_id" uuid null references "operators" ("id"),
        "created_at" timestamptz not null,
        "handed_over_at" timestamptz null,
        "queued_at" timestamptz null,
        "assigned_at" timestamptz null,
        "first_response_at" timestamptz null,
        "last_operator_reply_at" timestamptz null,
        "closed_at" timestamptz null,
        -- the running SL clock, if the dialog waits for an operator reply
        "sl_kind" text null check ("sl_kind" in ('FIRST_RESPONSE', 'NEXT_RESPONSE')),
        "sl_started_at" timestamptz null,
        "sl_deadline" timestamptz null,
        -- the group whose targets the running clock uses (reports count it there)
        "sl_group_id" uuid null references "groups" ("id"),
        "sl_breached_at" timestamptz null,
        "sl_warned_at" timestamptz null,
        -- Invariant 2: exactly one state; an operator exactly when ASSIGNED.
        constraint "dialogs_operator_iff_assigned" check (("status" = 'ASSIGNED') = ("operator_id" is not null)),
        constraint "dialogs_closed_has_time" check ("status" <> 'CLOSED' or "closed_at" is not null),
        constraint "dialogs_clock_complete" check (("sl_kind" is null) = ("sl_deadline" is null) and ("sl_kind" is null) = ("sl_started_at" is null))
      );`);
    this.addSql(`create index "dialogs_created_idx" on "dialogs" ("created_at", "id");`);
    this.addSql(`create index "dialogs_operator_active_idx" on "dialogs" ("operator_id") where "status" = 'ASSIGNED';`);
    this.addSql(`create index "dialogs_queue_idx" on "dialogs" ("sl_deadline", "queued_at", "id") where "status" = 'QUEUED';`);
    this.addSql(
      `create index "dialogs_queue_group_idx" on "dialogs" ("group_id", "sl_deadline", "queued_at", "id") where "status" = 'QUEUED';`,
    );
    this.addSql(`create index "dialogs_group_created_idx" on "dialogs" ("group_id", "created_at", "id");`);
    this.addSql(`create index "dialogs_running_clock_idx" on "dialogs" ("sl_deadline") where "sl_deadline" is not null;`);

    this.addSql(`
      create table "messages" (
        "id" uuid primary key,
        "seq" bigint generated always as identity,
        "dialog_id" uuid not null references "dialogs" ("id"),
        "author" text not null check ("author" in ('CLIENT', 'BOT', 'OPERATOR')),
        "text" text not null,
        "operator_id" uuid null references "operators" ("id"),
        "created_at" timestamptz not null
      );`);
    this.addSql(`create index "messages_dialog_idx" on "messages" ("dialog_id", "seq");`);

    this.addSql(`
      create table "dialog_transfers" (
        "id" uuid primary key,
        "seq" bigint generated always as identity,
        "dialog_id" uuid not null references "dialogs" ("id"),
        "at" timestamptz not null,
        "kind" text not null,
        "requested_group_id" uuid null references "groups" ("id"),
        "requested_operator_id" uuid null references "operators" ("id"),
        "from_operator_id" uuid null references "operators" ("id"),
        "to_operator_id" uuid null references "operators" ("id"),
        "outcome" text not null check ("outcome" in ('ASSIGNED_TO_TARGET', 'ASSIGNED_TO_ANY', 'QUEUED')),
        "reason" text null
      );`);
    this.addSql(`create index "dialog_transfers_dialog_idx" on "dialog_transfers" ("dialog_id", "seq");`);

    this.addSql(`
      create table "sl_responses" (
        "id" uuid primary key,
        "dialog_id" uuid not null references "dialogs" ("id"),
        "kind" text not null check ("kind" in ('FIRST_RESPONSE', 'NEXT_RESPONSE')),
        "group_id" uuid null references "groups" ("id"),
        "operator_id" uuid null references "operators" ("id"),
        "started_at" timestamptz not null,
        "deadline" timestamptz not null,
        "answered_at" timestamptz null,
        -- set when the dialog closed while the clock ran unanswered
        "closed_at" timestamptz null,
        "met" boolean not null
      );`);
    this.addSql(`create index "sl_responses_started_idx" on "sl_responses" ("started_at");`);
    this.addSql(`create index "sl_responses_group_idx" on "sl_responses" ("group_id", "started_at");`);
    this.addSql(`create index "sl_responses_operator_idx" on "sl_responses" ("operator_id", "started_at");`);

    this.addSql(`
      create table "idempotency_keys" (
        "scope" text not null,
        "key" text not null,
        "operation" text not null,
        "result_id" uuid null,
        "created_at" timestamptz not null,
        primary key ("scope", "key")
      );`);
  }
}
