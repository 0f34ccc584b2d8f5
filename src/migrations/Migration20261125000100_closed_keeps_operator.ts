import { Migration } from '@mikro-orm/migrations';

/**
 * A closed dialog keeps the operator who held it when it closed. Invariant 2 still holds:
 * an operator exactly when ASSIGNED among open dialogs (BOT and QUEUED have none).
 */
export class Migration20261125000100_closed_keeps_operator extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "dialogs" drop constraint "dialogs_operator_iff_assigned";`);
    this.addSql(`
      alter table "dialogs" add constraint "dialogs_operator_by_status" check (
        case "status"
          when 'ASSIGNED' then "operator_id" is not null
          when 'CLOSED' then true
          else "operator_id" is null
        end);`);
  }
}
