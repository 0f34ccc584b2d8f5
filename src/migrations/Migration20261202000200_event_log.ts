import { Migration } from '@mikro-orm/migrations';

/**
 * The durable event log behind every stream (outbox: written in the changing transaction).
 * Writers only insert their events, unnumbered: no lock, no NOTIFY, nothing that would make
 * their commits wait for each other. One sequencer at a time (number_events, see
 * src/realtime/event-bus.ts) gives committed events their positions and stream sequences, in the
 * order it sees them commit, under the log head's row lock; it also sends the wake-up. Positions
 * therefore grow without gaps and only ever become visible as a prefix: a reader that has seen
 * position N has seen every position below it.
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
        -- insertion order; positions are given by the sequencer
        "id" bigint generated always as identity primary key,
        "position" bigint null unique,
        -- the writing transaction: a live stream skips what its start snapshot already saw
        "tx" xid8 not null default pg_current_xact_id(),
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
        -- the streams the event belongs to, as the writer named them
        "topic_names" jsonb not null,
        -- {topic: that topic's sequence number for this event}, once numbered
        "topics" jsonb null,
        "body" jsonb not null
      );`);
    this.addSql(`create index "event_log_unnumbered_idx" on "event_log" ("id") where "position" is null;`);
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
      create function "append_events"(batch jsonb) returns void language sql as $$
        insert into event_log (type, feed, at, dialog_id, message_id, transfer_id, operator_id, group_id, topic_names, body)
        select b.value ->> 'type',
               (b.value ->> 'feed')::boolean,
               (b.value ->> 'at')::timestamptz,
               (b.value ->> 'dialogId')::uuid,
               (b.value ->> 'messageId')::uuid,
               (b.value ->> 'transferId')::uuid,
               (b.value ->> 'operatorId')::uuid,
               coalesce((b.value ->> 'groupId')::uuid,
                        (select d.group_id from dialogs d where d.id = (b.value ->> 'dialogId')::uuid)),
               b.value -> 'topics',
               b.value -> 'body'
          from jsonb_array_elements(batch) with ordinality as b(value, ord)
         order by b.ord;
      $$;`);
    this.addSql(`
      create function "number_events"(max_batch int) returns bigint language plpgsql as $$
      declare
        head bigint;
        n int;
      begin
        -- Polled often: nothing to do must cost no lock and no write (a partial-index probe).
        if not exists (select 1 from event_log where position is null) then
          return null;
        end if;
        -- Sequencers take turns here (there should only ever be one).
        select position into head from event_log_head for update;
        select count(*) into n from (select 1 from event_log where position is null limit max_batch) p;
        if n = 0 then
          return null;
        end if;
        update event_log_head set position = head + n;
        with pending as (
          select p.id, p.topic_names, head + row_number() over (order by p.id) as pos
            from (select id, topic_names from event_log where position is null order by id limit n for update) p
        ), mentions as (
          select p.pos, t.topic,
                 row_number() over (partition by t.topic order by p.pos) as nth,
                 count(*) over (partition by t.topic) as per_topic
            from pending p, jsonb_array_elements_text(p.topic_names) as t(topic)
        ), advanced as (
          insert into event_topics (topic, seq, last_position)
          select topic, count(*), max(pos) from mentions group by topic
          on conflict (topic) do update set seq = event_topics.seq + excluded.seq, last_position = excluded.last_position
          returning topic, seq
        ), numbered as (
          select m.pos, m.topic, a.seq - m.per_topic + m.nth as seq from mentions m join advanced a using (topic)
        ), entries as (
          insert into event_topic_entries (topic, seq, position) select topic, seq, pos from numbered
        )
        update event_log l
           set position = p.pos,
               topics = coalesce((select jsonb_object_agg(nb.topic, nb.seq) from numbered nb where nb.pos = p.pos), '{}'::jsonb)
          from pending p
         where l.id = p.id;
        -- A wake-up only: listeners read the log after the last position they saw.
        perform pg_notify('handover_events', (head + n)::text);
        return head + n;
      end $$;`);
  }
}
