import type { EntityManager } from '@mikro-orm/postgresql';

/** Log entries turned into jobs per webhook and statement: a far-behind webhook catches up in steps. */
const FAN_OUT_BATCH = 5000;

export interface FanOutOutcome {
  /** Whether any webhook is active at all. */
  readonly active: boolean;
  /** How many webhooks moved on. */
  readonly moved: number;
  /** Whether one that moved is still behind `head` (it holds more than a batch). */
  readonly more: boolean;
}

/**
 * Turns the public log entries after each active webhook's position, up to `head`, into its
 * jobs (of the types it has now), and moves its position: one statement, all or nothing. Rows
 * another transaction holds are skipped (SKIP LOCKED): that one's to do. `webhookId`: that
 * webhook only (one whose row the caller holds).
 */
export async function fanOutEntries(em: EntityManager, head: number, now: Date, webhookId?: string): Promise<FanOutOutcome> {
  const [outcome] = await em.execute<FanOutOutcome[]>(
    `with behind as materialized (
       select id, position, least(?::bigint, position + ?) as up_to from webhooks
        where active and position < ? ${webhookId === undefined ? '' : 'and id = ?'} order by id
          for no key update skip locked
     ), jobs as (
       insert into webhook_jobs (webhook_id, position, dialog_id, next_attempt_at, started_at)
       select b.id, l.position, l.dialog_id, ?, ? from behind b
         join webhooks w on w.id = b.id
         join event_log l on l.position > b.position and l.position <= b.up_to and l.feed and l.type = any (w.types)
       on conflict do nothing
     ), moved as (
       update webhooks w set position = b.up_to from behind b where w.id = b.id returning b.up_to
     )
     select exists (select 1 from webhooks where active) as active,
            (select count(*)::int from moved) as moved,
            coalesce((select bool_or(up_to < ?) from moved), false) as more`,
    [head, FAN_OUT_BATCH, head, ...(webhookId === undefined ? [] : [webhookId]), now, now, head],
  );
  return outcome ?? { active: true, moved: 0, more: false };
}
