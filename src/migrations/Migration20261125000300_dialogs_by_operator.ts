import { Migration } from '@mikro-orm/migrations';

/**
 * Closed dialogs keep their operator, so an operator's dialogs grow into a history: list them
 * (`dialogs(filter: { operatorId })`, newest pages by created_at) without scanning everyone's.
 */
export class Migration20261125000300_dialogs_by_operator extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "dialogs_operator_created_idx" on "dialogs" ("operator_id", "created_at", "id") where "operator_id" is not null;`,
    );
  }
}
