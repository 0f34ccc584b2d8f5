import type { EntityManager } from '@mikro-orm/postgresql';
import { planPerCall } from '../db/plan-per-call.js';

/** How far back the live SL share looks. */
export const SL_WINDOW_MS = 15 * 60_000;
/** How far back arrivals and handle times look (also the staffing forecast's defaults). */
export const TRAFFIC_WINDOW_MS = 60 * 60_000;

/** The recent-traffic figures of a group (or, without one, of the whole server). */
export interface LiveFigures {
  /** Met ÷ decided SL clocks whose decision fell in (now − 15 min, now], × 100; null when none. */
  readonly slPercentLast15m: number | null;
  /** First-response clocks started in (now − 60 min, now]: dialogs that reached operators. */
  readonly arrivalsLastHour: number;
  /** Mean closed_at − assigned_at of dialogs closed by an operator in (now − 60 min, now]; null when none. */
  readonly avgHandleTimeSec: number | null;
}

interface Row {
  decided: string;
  met: string;
  arrivals: string;
  avg_handle_sec: string | null;
}

/**
 * One statement of index range scans over the windows only (no history is read, see the
 * sl_analytics migration): recorded clocks by decision time, running clocks by deadline and
 * start, closed dialogs by close time. A clock is decided when met (at its answer), or missed
 * (at its deadline: answered late, closed after it, or still running past it); a client who
 * left before the deadline decides nothing.
 */
export async function liveFigures(em: EntityManager, groupId: string | null, now: Date): Promise<LiveFigures> {
  const slSince = new Date(now.getTime() - SL_WINDOW_MS);
  const since = new Date(now.getTime() - TRAFFIC_WINDOW_MS);
  const group = (column: string): string => (groupId ? `and ${column} = ?` : '');
  const g = groupId ? [groupId] : [];
  const [row] = await em.execute<Row[]>(
    planPerCall(`with decided as (
       select met from sl_responses where decided_at > ? and decided_at <= ? ${group('group_id')}
       union all
       -- strictly past the deadline, as everywhere: exactly at it, the clock may still be met
       select false from dialogs where sl_deadline > ? and sl_deadline < ? ${group('sl_group_id')}
     )
     select
       (select count(*) from decided) as decided,
       (select count(*) from decided where met) as met,
       (select count(*) from sl_responses
         where kind = 'FIRST_RESPONSE' and started_at > ? and started_at <= ? ${group('group_id')})
       + (select count(*) from dialogs
           where sl_kind = 'FIRST_RESPONSE' and sl_started_at > ? and sl_started_at <= ? ${group('sl_group_id')}) as arrivals,
       (select avg(extract(epoch from closed_at - assigned_at)) from dialogs
         where status = 'CLOSED' and closed_at > ? and closed_at <= ? and operator_id is not null and assigned_at is not null
           ${group('group_id')}) as avg_handle_sec`),
    [slSince, now, ...g, slSince, now, ...g, since, now, ...g, since, now, ...g, since, now, ...g],
  );
  const decided = Number(row?.decided ?? 0);
  return {
    slPercentLast15m: decided === 0 ? null : Math.round((Number(row?.met ?? 0) / decided) * 10000) / 100,
    arrivalsLastHour: Number(row?.arrivals ?? 0),
    avgHandleTimeSec: row?.avg_handle_sec == null ? null : Math.round(Number(row.avg_handle_sec) * 1000) / 1000,
  };
}
