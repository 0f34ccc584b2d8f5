import type { EntityManager } from '@mikro-orm/postgresql';
import { planPerCall } from '../db/plan-per-call.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { isId } from '../shared/validate.js';
import { SlReport } from './sl-report.type.js';

export interface SlReportQuery {
  readonly groupId: string | null;
  readonly operatorId: string | null;
  readonly from: Date;
  readonly to: Date;
}

interface Row {
  sessions: string;
  first_decided: string;
  first_within: string;
  next_counted: string;
  next_within: string;
  avg_first_sec: string | null;
  avg_next_sec: string | null;
  p90_first_sec: string | null;
  abandoned: string;
}

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10000) / 100;
}

function seconds(value: string | null | undefined): number | null {
  return value == null ? null : Math.round(Number(value) * 1000) / 1000;
}

/**
 * SL reports, from the recorded responses (sl_responses) plus the clocks still running:
 *
 * - a session is a dialog whose first-response clock started (it reached operators) in
 *   [from, to); by group: the group whose targets the clock used; by operator: the operator
 *   who answered (or held the dialog when it closed unanswered, or holds it now);
 * - a clock is decided when answered, or when its deadline passed unanswered (still running,
 *   or closed after the deadline: missed); closed before its deadline (the client left) or
 *   running before its deadline, it is undecided and counts in no percentage;
 * - percentages are within-SL / decided, null when nothing is decided;
 * - subsequent responses started in [from, to) count when decided, the same way;
 * - the average first-response time, its 90th percentile (linear between the nearest ranks,
 *   as percentile_cont) and the average subsequent-response time are over answered clocks;
 * - abandoned: first-response clocks ended by closing the dialog unanswered, counted by the
 *   close time in [from, to) (not by start time), whether or not the deadline had passed.
 */
export class SlReportService {
  constructor(private readonly clock: Clock) {}

  async report(em: EntityManager, query: SlReportQuery): Promise<SlReport> {
    const { groupId, operatorId, from, to } = query;
    if (!(to.getTime() > from.getTime())) throw new BadInputError('to', 'to must be after from');
    if (groupId !== null) await this.requireRow(em, 'groups', 'Group', groupId, 'groupId');
    if (operatorId !== null) await this.requireRow(em, 'operators', 'Operator', operatorId, 'operatorId');
    const now = this.clock.now();

    // Every clock in one relation: recorded ones, and those still running as of now.
    // decided = answered, or its deadline passed before it ended (closed) or before now (running);
    // "passed" is strict, as a reply exactly at the deadline meets it (the breach sweep agrees).
    const [row] = await em.execute<Row[]>(
      planPerCall(`with clocks as (
         select kind, group_id, operator_id, started_at, answered_at, met,
                answered_at is not null or deadline < closed_at as decided
           from sl_responses
          where started_at >= ? and started_at < ?
         union all
         select sl_kind, sl_group_id, operator_id, sl_started_at, null, false, sl_deadline < ?
           from dialogs
          where sl_kind is not null and sl_started_at >= ? and sl_started_at < ?
       ),
       scoped as (
         select * from clocks
          where (?::uuid is null or group_id = ?::uuid) and (?::uuid is null or operator_id = ?::uuid)
       )
       select
         count(*) filter (where kind = 'FIRST_RESPONSE') as sessions,
         count(*) filter (where kind = 'FIRST_RESPONSE' and decided) as first_decided,
         count(*) filter (where kind = 'FIRST_RESPONSE' and met) as first_within,
         count(*) filter (where kind = 'NEXT_RESPONSE' and decided) as next_counted,
         count(*) filter (where kind = 'NEXT_RESPONSE' and met) as next_within,
         avg(extract(epoch from answered_at - started_at)) filter (where kind = 'FIRST_RESPONSE' and answered_at is not null)
           as avg_first_sec,
         avg(extract(epoch from answered_at - started_at)) filter (where kind = 'NEXT_RESPONSE' and answered_at is not null)
           as avg_next_sec,
         percentile_cont(0.9) within group (order by extract(epoch from answered_at - started_at))
           filter (where kind = 'FIRST_RESPONSE' and answered_at is not null) as p90_first_sec,
         (select count(*) from sl_responses
           where kind = 'FIRST_RESPONSE' and closed_at >= ? and closed_at < ?
             and (?::uuid is null or group_id = ?::uuid) and (?::uuid is null or operator_id = ?::uuid)) as abandoned
         from scoped`),
      [from, to, now, from, to, groupId, groupId, operatorId, operatorId, from, to, groupId, groupId, operatorId, operatorId],
    );
    const sessions = Number(row?.sessions ?? 0);
    const firstDecided = Number(row?.first_decided ?? 0);
    const firstWithin = Number(row?.first_within ?? 0);
    const nextCounted = Number(row?.next_counted ?? 0);
    const nextWithin = Number(row?.next_within ?? 0);
    return Object.assign(new SlReport(), {
      from,
      to,
      sessions,
      firstResponsesWithinSl: firstWithin,
      firstResponseSlPercent: percent(firstWithin, firstDecided),
      nextResponses: nextCounted,
      nextResponsesWithinSl: nextWithin,
      nextResponseSlPercent: percent(nextWithin, nextCounted),
      avgFirstResponseSec: seconds(row?.avg_first_sec),
      avgNextResponseSec: seconds(row?.avg_next_sec),
      p90FirstResponseSec: seconds(row?.p90_first_sec),
      abandoned: Number(row?.abandoned ?? 0),
    });
  }

  private async requireRow(
    em: EntityManager,
    table: 'groups' | 'operators',
    entity: string,
    id: string,
    field: string,
  ): Promise<void> {
    const found = isId(id) ? await em.execute<unknown[]>(`select 1 from ${table} where id = ?`, [id]) : [];
    if (!found.length) throw new NotFoundError(entity, id, field);
  }
}
