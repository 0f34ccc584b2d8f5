import { Migration } from '@mikro-orm/migrations';

/**
 * A transfer's reasons become a list and the bot's free text its own column. Old rows held both
 * in one comma-joined `reason`, the text last as `note:<text>`: everything after the first
 * `note:` part is the text (it may hold commas), everything before it the reasons.
 */
export class Migration20261201000400_typed_transfers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "dialog_transfers" add column "reasons" text[] not null default '{}', add column "note" text null;`);
    this.addSql(`
      update "dialog_transfers" set
        "note" = substring("reason" from '(?:^|,)note:(.*)$'),
        "reasons" = coalesce(string_to_array(nullif(regexp_replace("reason", '(^|,)note:.*$', ''), ''), ','), '{}')
      where "reason" is not null;`);
    this.addSql(`alter table "dialog_transfers" drop column "reason";`);
  }
}
