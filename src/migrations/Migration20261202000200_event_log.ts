import { Migration } from '@mikro-orm/migrations';

/**
 * The durable event log behind every stream (outbox: written in the changing transaction).
 * Positions are handed out under the head row's lock, taken as the transaction's last statement
 * and held until its commit: positions follow commit order and have no gaps (a rollback returns
 * them), so a reader that has seen position N has seen everything before it.
 */
export class Migration20261202000200_event_log extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table "event_log_head" (
        "id" boolean primary key default true check ("id"),
        "position" bigint not null
      );`);
    this.addSql(`insert into "event_log_head" ("position") values (0);`);
    this.addSql(`
      create table "event_log" (
        "position" bigint primary key,
        "type" text not null,
        -- part of the public feed (Query.events, webhooks); else only for internal streams
        "feed" boolean not null,
        "at" timestamptz not null,
        "dialog_id" uuid null,
        "message_id" uuid null,
        "transfer_id" uuid null,
        "operator_id" uuid null,
        -- the dialog's group when the event happened
        "group_id" uuid null,
        -- {topic: that topic's sequence number for this event}
        "topics" jsonb not null,
        "body" jsonb not null
      );`);
    this.addSql(`create index "event_log_dialog_idx" on "event_log" ("dialog_id", "position") where "dialog_id" is not null;`);
    this.addSql(`create index "event_log_at_idx" on "event_log" using brin ("at");`);
    this.addSql(`
      create table "event_topic_entries" (
        "topic" text not null,
        "seq" bigint not null,
        "position" bigint not null,
        primary key ("topic", "seq")
      );`);
    this.addSql(`create index "event_topic_entries_position_idx" on "event_topic_entries" using brin ("position");`);
    this.addSql(`alter table "event_topics" add column "last_position" bigint null;`);
    // Keys expire after 24 hours; the sweep deletes them by age.
    this.addSql(`create index "idempotency_keys_created_idx" on "idempotency_keys" ("created_at");`);
    this.addSql(`
      create function "append_events"(batch jsonb) returns bigint language plpgsql as $$
      declare
        n int := jsonb_array_length(batch);
        last bigint;
      begin
        -- The commit-order lock: held from here until this transaction ends.
        update event_log_head set position = position + n returning position into last;
        with input as (
          select b.ord, b.value from jsonb_array_elements(batch) with ordinality as b(value, ord)
        ), mentions as (
          select i.ord, t.topic,
                 row_number() over (partition by t.topic order by i.ord) as nth,
                 count(*) over (partition by t.topic) as per_topic
            from input i, jsonb_array_elements_text(i.value -> 'topics') as t(topic)
        ), advanced as (
          insert into event_topics (topic, seq, last_position)
          select topic, count(*), last from mentions group by topic
          on conflict (topic) do update set seq = event_topics.seq + excluded.seq, last_position = excluded.last_position
          returning topic, seq
        ), numbered as (
          select m.ord, m.topic, a.seq - m.per_topic + m.nth as seq from mentions m join advanced a using (topic)
        ), entries as (
          insert into event_topic_entries (topic, seq, position)
          select topic, seq, last - n + ord from numbered
        )
        insert into event_log (position, type, feed, at, dialog_id, message_id, transfer_id, operator_id, group_id, topics, body)
        select last - n + i.ord,
               i.value ->> 'type',
               (i.value ->> 'feed')::boolean,
               (i.value ->> 'at')::timestamptz,
               (i.value ->> 'dialogId')::uuid,
               (i.value ->> 'messageId')::uuid,
               (i.value ->> 'transferId')::uuid,
               (i.value ->> 'operatorId')::uuid,
               coalesce((i.value ->> 'groupId')::uuid,
                        (select d.group_id from dialogs d where d.id = (i.value ->> 'dialogId')::uuid)),
               coalesce((select jsonb_object_agg(nb.topic, nb.seq) from numbered nb where nb.ord = i.ord), '{}'::jsonb),
               i.value -> 'body'
          from input i;
        -- A wake-up only: listeners read the log after the last position they saw.
        perform pg_notify('handover_events', last::text);
        return last;
      end $$;`);
  }
}
