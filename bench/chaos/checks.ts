import pg from 'pg';
import type { Window } from './cluster.js';
import type { OpResult } from './ops.js';
import type { Watcher } from './watchers.js';

/** What a subscriber recorded (a Watcher, or a hand-made record in tests). */
export type Observed = Pick<Watcher, 'spec' | 'received' | 'interruptions' | 'eventErrors'>;

export interface InvariantCheck {
  readonly name: string;
  readonly violations: number;
  /** A few offending rows, for the report. */
  readonly sample: unknown[];
}

const INVARIANTS: ReadonlyArray<readonly [string, string]> = [
  [
    '1: active_dialog_count <= max_dialogs (and >= 0)',
    `select id, active_dialog_count, max_dialogs from operators where active_dialog_count > max_dialogs or active_dialog_count < 0`,
  ],
  [
    '2: each dialog in exactly one state, consistent with operator_id',
    `select id, status, operator_id from dialogs
      where status not in ('BOT', 'QUEUED', 'ASSIGNED', 'CLOSED')
         or (status = 'ASSIGNED') <> (operator_id is not null and closed_at is null)
         or (status = 'CLOSED') <> (closed_at is not null)`,
  ],
  [
    '3: active_dialog_count = ASSIGNED dialogs per operator',
    `select o.id, o.active_dialog_count, count(d.id)::int as assigned
       from operators o left join dialogs d on d.operator_id = o.id and d.status = 'ASSIGNED'
      group by o.id having o.active_dialog_count <> count(d.id)`,
  ],
  [
    'no OFFLINE or deleted operator holds ASSIGNED dialogs',
    `select o.id, o.status, o.deleted_at, count(*)::int as assigned
       from operators o join dialogs d on d.operator_id = o.id and d.status = 'ASSIGNED'
      where o.status <> 'ONLINE' or o.deleted_at is not null group by o.id`,
  ],
  [
    'nothing waits in Help while an ONLINE operator has free capacity (after a sweep)',
    `select d.id, d.group_id, d.handed_on_by from dialogs d
      where d.status = 'QUEUED'
        and exists (select 1 from operators o
                     where o.status = 'ONLINE' and o.deleted_at is null and o.active_dialog_count < o.max_dialogs
                       and o.id is distinct from d.handed_on_by)`,
  ],
];

export async function checkInvariants(databaseUrl: string, startedDialogs: readonly string[]): Promise<InvariantCheck[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const checks: InvariantCheck[] = [];
    for (const [name, sql] of INVARIANTS) {
      const { rows } = await db.query(sql);
      checks.push({ name, violations: rows.length, sample: rows.slice(0, 3) });
    }
    const { rows: missing } = await db.query<{ id: string }>(
      `select s.id from unnest($1::uuid[]) s(id) where not exists (select 1 from dialogs d where d.id = s.id)`,
      [startedDialogs],
    );
    checks.push({
      name: `2: no started dialog lost (${startedDialogs.length} started)`,
      violations: missing.length,
      sample: missing.slice(0, 3),
    });
    return checks;
  } finally {
    await db.end();
  }
}

export async function topicSequences(databaseUrl: string): Promise<Map<string, number>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ topic: string; seq: string }>(`select topic, seq from event_topics`);
    return new Map(rows.map((r) => [r.topic, Number(r.seq)]));
  } finally {
    await db.end();
  }
}

const overlaps = (from: number, to: number, w: Window): boolean => from <= w.to && to >= w.from;

export interface StreamCheck {
  readonly label: string;
  readonly events: number;
  /** Consecutive pairs checked strictly (sequence + 1). */
  readonly strictPairs: number;
  /** Events missing between two received ones: violations, outages included. */
  readonly missing: number;
  readonly outOfOrder: number;
  /** Seen a sequence number the database never committed (invariant 4). */
  readonly beyondCommitted: boolean;
  readonly lastSeen: number | null;
  readonly committed: number;
  /** Committed events after the last one seen. */
  readonly tailMissing: number;
  readonly interruptionsOutsideOutage: string[];
  readonly interruptionsInOutage: string[];
  readonly eventErrors: number;
}

/**
 * Every event after the first must carry the previous sequence + 1, also across listener outages
 * and resubscriptions (the listener catches up from the event log; a watcher resubscribes with
 * `after`), and the last one must be the last committed.
 */
export function checkStream(
  watcher: Observed,
  listenerDown: readonly Window[],
  dbOutages: readonly Window[],
  committed: number,
): StreamCheck {
  const inOutage = (at: number): boolean =>
    dbOutages.some((w) => overlaps(at, at, w)) || listenerDown.some((w) => overlaps(at, at, w));
  const interruptionsInOutage = watcher.interruptions.filter((i) => inOutage(i.at));
  let strictPairs = 0;
  let missing = 0;
  let outOfOrder = 0;
  const got = watcher.received;
  for (let i = 1; i < got.length; i++) {
    const gap = got[i].sequence - got[i - 1].sequence - 1;
    if (gap < 0) outOfOrder++;
    else if (gap === 0) strictPairs++;
    else missing += gap;
  }
  const last = got.at(-1);
  const tailMissing = last && committed > last.sequence ? committed - last.sequence : 0;
  return {
    label: watcher.spec.label,
    events: got.length,
    strictPairs,
    missing,
    outOfOrder,
    beyondCommitted: last !== undefined && last.sequence > committed,
    lastSeen: last?.sequence ?? null,
    committed,
    tailMissing,
    interruptionsOutsideOutage: watcher.interruptions.filter((i) => !inOutage(i.at)).map((i) => i.reason),
    interruptionsInOutage: interruptionsInOutage.map((i) => i.reason),
    eventErrors: watcher.eventErrors.length,
  };
}

export const streamOk = (s: StreamCheck): boolean =>
  s.events > 0 &&
  s.missing === 0 &&
  s.outOfOrder === 0 &&
  !s.beyondCommitted &&
  s.tailMissing === 0 &&
  s.interruptionsOutsideOutage.length === 0;

export type Phase = 'normal' | 'server-kill' | 'db-outage';

export function phaseOf(op: OpResult, serverKills: readonly Window[], dbOutages: readonly Window[]): Phase {
  if (dbOutages.some((w) => overlaps(op.startedAt, op.endedAt, w))) return 'db-outage';
  if (serverKills.some((w) => overlaps(op.startedAt, op.endedAt, w))) return 'server-kill';
  return 'normal';
}

/** Outcomes a client should never see in that phase. */
export function isViolation(outcome: string, phase: Phase): boolean {
  if (phase === 'db-outage') return false;
  if (outcome === 'TRANSPORT') return phase !== 'server-kill';
  // SERVICE_UNAVAILABLE says the database could not serve: only while it is away.
  return ['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'NO_CODE', 'TIMEOUT'].includes(outcome) || outcome.startsWith('HTTP_');
}
