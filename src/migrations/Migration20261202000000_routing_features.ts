import { Migration } from '@mikro-orm/migrations';

/**
 * Pause (AWAY) with its reason and the presence heartbeat; per-group no-answer re-routing, queue
 * limit and returning-client window; dialog priority; REJECTED decisions (the queue was full)
 * and which decisions took a dialog out of the Help queue (the wait estimate counts them).
 */
export class Migration20261202000000_routing_features extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "operators" drop constraint "operators_status_check";`);
    this.addSql(
      `alter table "operators" add constraint "operators_status_check" check ("status" in ('ONLINE', 'AWAY', 'OFFLINE'));`,
    );
    this.addSql(`
      alter table "operators"
        add column "away_reason" text null,
        add column "presence_seen_at" timestamptz null,
        add constraint "operators_away_reason_only_away" check ("status" = 'AWAY' or "away_reason" is null);`);
    this.addSql(`
      alter table "groups"
        add column "reassign_after_sec" integer not null default 0 check ("reassign_after_sec" between 0 and 86400),
        add column "max_queued" integer not null default 0 check ("max_queued" between 0 and 100000),
        add column "prefer_last_operator_sec" integer not null default 0 check ("prefer_last_operator_sec" between 0 and 2592000);`);
    this.addSql(`alter table "dialogs" add column "priority" integer not null default 0 check ("priority" between 0 and 10);`);
    // The drain order, so position and drains read the queue from an index.
    this.addSql(`
      create index "dialogs_queue_order" on "dialogs" ("priority" desc, "sl_deadline" asc nulls last, "queued_at", "id")
        where "status" = 'QUEUED';`);
    // No-answer candidates: assigned dialogs by assignment time.
    this.addSql(`create index "dialogs_assigned_at" on "dialogs" ("assigned_at") where "status" = 'ASSIGNED';`);
    this.addSql(`alter table "dialog_transfers" drop constraint "dialog_transfers_outcome_check";`);
    this.addSql(`
      alter table "dialog_transfers"
        add constraint "dialog_transfers_outcome_check" check ("outcome" in ('ASSIGNED_TO_TARGET', 'ASSIGNED_TO_ANY', 'QUEUED', 'REJECTED')),
        add column "from_queue" boolean not null default false;`);
    // Old decisions that took a queued dialog: drains and takes always did.
    this.addSql(`update "dialog_transfers" set "from_queue" = true where "kind" in ('DRAIN', 'TAKE');`);
    this.addSql(
      `create index "dialog_transfers_left_queue" on "dialog_transfers" ("at") where "from_queue" and "to_operator_id" is not null;`,
    );
  }
}
