import type { SortKey } from '../shared/keyset.js';

/**
 * The Help queue's drain order, most urgent first: earliest running SL deadline (dialogs without
 * a running clock after every deadline), then longest queued, then id. The drain SQL in
 * router.ts, the helpQueue query and `dialogs(orderBy: QUEUE_ORDER)` all read it from here;
 * rules.compareQueued states the same order for the model-based test.
 */
export const QUEUE_ORDER: readonly SortKey[] = [
  { column: 'sl_deadline', direction: 'asc', nulls: 'last', type: 'timestamptz' },
  // Null only for dialogs never queued, which dialogs(orderBy: QUEUE_ORDER) can also list.
  { column: 'queued_at', direction: 'asc', nulls: 'last', type: 'timestamptz' },
  { column: 'id', direction: 'asc', type: 'uuid' },
];
