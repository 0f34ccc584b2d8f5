import { orderBySql, type SortKey } from '../shared/keyset.js';
import { SkipReason } from './transfer-enums.js';

/*
 * The routing rules of MISSION.md and issue #12, each defined once and run by router.ts (and the
 * reads that show the queue: helpQueue, queuePosition). SQL fragments where the database picks,
 * functions where a decision explains itself.
 */

/** Who may receive a dialog (alias `o`): ONLINE (not AWAY, not OFFLINE), not deleted, below their maximum. */
export const AVAILABLE = `o.status = 'ONLINE' and o.deleted_at is null and o.active_dialog_count < o.max_dialogs`;

/** Least loaded first (alias `o`): fewest active dialogs; ties: longest since the last assignment (never = longest); then id. */
export const LEAST_LOADED = 'o.active_dialog_count, o.last_assigned_at nulls first, o.id';

/**
 * The Help queue's drain order: higher priority first, then the earliest SL deadline (no running
 * clock = after every deadline), then the longest queued, then id. Drains take dialogs in this
 * order (those aimed at the freed operator's groups first, each part in this order); helpQueue
 * and `dialogs(orderBy: QUEUE_ORDER)` list it; queuePosition counts it over the whole queue.
 */
export const QUEUE_KEYS: readonly SortKey[] = [
  { column: 'priority', direction: 'desc', type: 'integer' },
  { column: 'sl_deadline', direction: 'asc', nulls: 'last', type: 'timestamptz' },
  // Null only for dialogs never queued, which dialogs(orderBy: QUEUE_ORDER) can also list.
  { column: 'queued_at', direction: 'asc', nulls: 'last', type: 'timestamptz' },
  { column: 'id', direction: 'asc', type: 'uuid' },
];

/** QUEUE_KEYS as SQL (alias `d`). */
export const QUEUE_ORDER = orderBySql(QUEUE_KEYS, 'd');

/**
 * The order an operator's held dialogs move on when they go offline (alias `d`): the same
 * urgency as the queue, with the assignment time where the queue has its queued time.
 */
export const HELD_ORDER = 'd.priority desc, d.sl_deadline asc nulls last, d.assigned_at asc, d.id asc';

/** An operator as a routing decision judges them. */
export interface Candidate {
  readonly id: string;
  readonly status: string;
  readonly active: number;
  readonly max: number;
}

/** Why a named operator cannot take the dialog now; null when they can. */
export function whyOperatorSkipped(c: Candidate | undefined, excludeId?: string | null): SkipReason | null {
  if (!c) return SkipReason.OPERATOR_NOT_FOUND;
  if (c.id === excludeId) return SkipReason.OPERATOR_IS_SENDER;
  if (c.status === 'AWAY') return SkipReason.OPERATOR_AWAY;
  if (c.status !== 'ONLINE') return SkipReason.OPERATOR_OFFLINE;
  if (c.active >= c.max) return SkipReason.OPERATOR_AT_CAPACITY;
  return null;
}

/** Why no member of a group could take the dialog (called once no member was available). */
export function whyGroupSkipped(members: readonly Candidate[], excludeId?: string | null): SkipReason {
  const others = members.filter((m) => m.id !== excludeId);
  if (others.length === 0) return SkipReason.GROUP_EMPTY;
  if (!others.some((m) => m.status === 'ONLINE')) return SkipReason.GROUP_NO_ONLINE_MEMBERS;
  return SkipReason.GROUP_AT_CAPACITY;
}
