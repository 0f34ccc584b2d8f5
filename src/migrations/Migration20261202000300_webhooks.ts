import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks: endpoints, the deliveries still to make (jobs), and every attempt made.
 * Jobs are created from the event log in position order (each webhook remembers how far it
 * has read), claimed with SKIP LOCKED in short transactions and sent outside any transaction.
 */
export class Migration20261202000300_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "webhooks" (
        "id" uuid primary key,
        "url" text not null,
        "types" text[] not null,
        "active" boolean not null default true,
        -- The signing secret, encrypted when WEBHOOK_SECRET_KEY is set (webhooks/secret-box.ts).
        "secret" text not null,
        "created_at" timestamptz not null,
        -- Set by the first failure after a success; cleared by the next success.
        "failing_since" timestamptz null,
        -- The last log position whose events were turned into jobs for this webhook.
        "position" bigint not null
      );`);
    this.addSql(`
      create table "webhook_jobs" (
        "webhook_id" uuid not null references "webhooks" ("id") on delete cascade,
        "position" bigint not null,
        -- Deliveries of one dialog go out in position order.
        "dialog_id" uuid null,
        "attempts" integer not null default 0,
        "next_attempt_at" timestamptz not null,
        -- Retries end 24 h after this (the job's creation, or a redelivery request).
        "started_at" timestamptz not null,
        -- The instance sending it now (its advisory lock key); free again once that lock is gone.
        "claimed_by" integer null,
        primary key ("webhook_id", "position")
      );`);
    this.addSql(`create index "webhook_jobs_due_idx" on "webhook_jobs" ("next_attempt_at");`);
    this.addSql(
      `create index "webhook_jobs_dialog_idx" on "webhook_jobs" ("webhook_id", "dialog_id", "position") where "dialog_id" is not null;`,
    );
    this.addSql(`
      create table "webhook_attempts" (
        "id" bigint generated always as identity primary key,
        "webhook_id" uuid not null references "webhooks" ("id") on delete cascade,
        "position" bigint not null,
        "attempt" integer not null,
        "at" timestamptz not null,
        "status_code" integer null,
        "duration_ms" integer not null,
        "error" text null,
        -- At most 1 KB of what the receiver answered.
        "response_body" text null check (octet_length("response_body") <= 1024),
        "next_attempt_at" timestamptz null
      );`);
    this.addSql(`create index "webhook_attempts_webhook_idx" on "webhook_attempts" ("webhook_id", "id");`);
    this.addSql(`create index "webhook_attempts_at_idx" on "webhook_attempts" using brin ("at");`);
  }
}
