import { Migration } from '@mikro-orm/migrations';

/** A key remembers the arguments of its first call, so reusing it for another call is refused. */
export class Migration20261125000200_idempotency_fingerprint extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "idempotency_keys" add column "fingerprint" text null;`);
  }
}
