import { Migration } from '@mikro-orm/migrations';

/**
 * Live SL figures read only the recent past, whatever the history: each recorded clock knows
 * when it was decided (met: when answered; missed: at its deadline; the client left before the
 * deadline: never), and closed dialogs and running clocks are indexed by time.
 */
export class Migration20261201000000_sl_analytics extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table "sl_responses" add column "decided_at" timestamptz generated always as (
        case
          when "met" then "answered_at"
          when "answered_at" is null and "closed_at" <= "deadline" then null
          else "deadline"
        end) stored;`);
    this.addSql(`create index "sl_responses_decided_idx" on "sl_responses" ("decided_at") where "decided_at" is not null;`);
    this.addSql(
      `create index "sl_responses_group_decided_idx" on "sl_responses" ("group_id", "decided_at") where "decided_at" is not null;`,
    );
    // Abandoned: first-response clocks ended by closing, unanswered (reports by close time).
    this.addSql(
      `create index "sl_responses_abandoned_idx" on "sl_responses" ("closed_at") where "kind" = 'FIRST_RESPONSE' and "closed_at" is not null;`,
    );
    this.addSql(`create index "dialogs_running_clock_started_idx" on "dialogs" ("sl_started_at") where "sl_kind" is not null;`);
    this.addSql(`create index "dialogs_closed_idx" on "dialogs" ("closed_at") where "status" = 'CLOSED';`);
    this.addSql(`create index "dialogs_group_closed_idx" on "dialogs" ("group_id", "closed_at") where "status" = 'CLOSED';`);
  }
}
