import { Migration } from '@mikro-orm/migrations';

/**
 * One open dialog per external chat: the index makes two concurrent starts with the same
 * externalId unable to both win. Existing duplicates are not resolved here (closing a client's
 * dialog is an operator's decision): the migration stops and names how many there are.
 */
export class Migration20261201000410_one_open_dialog_per_chat extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      do $$
      declare clashes bigint;
      begin
        select count(*) into clashes from (
          select 1 from "dialogs" where "external_id" is not null and "status" <> 'CLOSED'
           group by "external_id" having count(*) > 1) c;
        if clashes > 0 then
          raise exception '% externalId value(s) have more than one open dialog; close all but one of each, then migrate again', clashes;
        end if;
      end $$;`);
    this.addSql(`create unique index "dialogs_open_external_id_uniq" on "dialogs" ("external_id") where "status" <> 'CLOSED';`);
  }
}
