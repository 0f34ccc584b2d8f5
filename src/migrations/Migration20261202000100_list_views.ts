import { Migration } from '@mikro-orm/migrations';

/**
 * List views: each operator's read marker per dialog (unread counts), and each dialog's newest
 * message kept on its row so "most recent message first" pages by an index instead of sorting
 * every dialog's history.
 */
export class Migration20261202000100_list_views extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "dialog_reads" (
        "operator_id" uuid not null references "operators" ("id"),
        "dialog_id" uuid not null references "dialogs" ("id"),
        -- messages.seq of the newest message the operator has read; it only moves forward
        "last_read_seq" bigint not null,
        "read_at" timestamptz not null,
        primary key ("operator_id", "dialog_id")
      );`);
    this.addSql(`alter table "dialogs" add column "last_message_seq" bigint null;`);
    this.addSql(`
      update "dialogs" d set "last_message_seq" = m."seq"
        from (select "dialog_id", max("seq") as "seq" from "messages" group by "dialog_id") m
       where m."dialog_id" = d."id";`);
    // LAST_MESSAGE_DESC: dialogs without messages come last.
    this.addSql(`create index "dialogs_last_message_idx" on "dialogs" ("last_message_seq" desc nulls last, "id" desc);`);
    // The scenarioId filter, newest first.
    this.addSql(`create index "dialogs_scenario_created_idx" on "dialogs" ("scenario_id", "created_at", "id");`);
  }
}
