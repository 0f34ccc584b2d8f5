import type { EntityManager } from '@mikro-orm/postgresql';
import { planPerCall } from '../db/plan-per-call.js';
import { QUEUE_ORDER } from '../routing/rules.js';

/** The wait estimate looks at how many dialogs left the Help queue over this many seconds. */
export const WAIT_WINDOW_SEC = 900;

/**
 * Each QUEUED dialog's 1-based place in the Help queue's drain order (rules.QUEUE_ORDER), over
 * the whole queue whatever the group. Dialogs not queued are absent.
 */
export async function queuePositions(
  em: EntityManager,
  ids: readonly string[],
): Promise<Array<{ id: string; position: number }>> {
  const rows = await em.execute<Array<{ id: string; position: string }>>(
    `select id, position from (
       select d.id, row_number() over (order by ${QUEUE_ORDER}) as position from dialogs d where d.status = 'QUEUED'
     ) q where id in (?)`,
    [[...ids]],
  );
  return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
}

/** The start of the window that ends at `now`, to the whole second (one count serves a whole request). */
export function windowStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 - WAIT_WINDOW_SEC * 1000);
}

/** Dialogs that left the Help queue to an operator (drain, take, or a transfer of a queued dialog) after `since`. */
export async function leftQueueSince(em: EntityManager, since: Date): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>(
    planPerCall(`select count(*)::int as n from dialog_transfers where from_queue and to_operator_id is not null and at > ?`),
    [since],
  );
  return row?.n ?? 0;
}

/**
 * Expected seconds until an operator takes the dialog at `position`: the queue moved
 * `departures` dialogs in the last WAIT_WINDOW_SEC, so one every WAIT_WINDOW_SEC / departures
 * seconds, and `position` of them must go (this one included). Rounded up; null when nothing
 * left the queue in the window (no rate to go by).
 */
export function estimatedWait(position: number, departures: number): number | null {
  if (departures <= 0) return null;
  return Math.ceil((position * WAIT_WINDOW_SEC) / departures);
}
