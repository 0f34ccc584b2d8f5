import { Migration } from '@mikro-orm/migrations';

/**
 * Who handed a queued dialog on: draining never gives it back to them (not even a later
 * drain by the safety sweep). Cleared when the dialog is assigned.
 */
export class Migration20261125000000_handed_on_by extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "dialogs" add column "handed_on_by" uuid null references "operators" ("id");`);
  }
}
