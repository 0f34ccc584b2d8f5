import { Migration } from '@mikro-orm/migrations';

/** Per-topic event sequence numbers, so subscribers can detect missed events. */
export class Migration20261124000200_event_topics extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "event_topics" ("topic" text primary key, "seq" bigint not null);`);
  }
}
