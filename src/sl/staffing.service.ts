import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { isId, validateAll } from '../shared/validate.js';
import { queueFigures, requiredAgents } from './erlang-c.js';
import { liveFigures } from './live-figures.js';
import { StaffingForecast, type StaffingInput } from './staffing.type.js';

export const DEFAULT_TARGET_PERCENT = 80;
export const MAX_ARRIVALS_PER_HOUR = 1_000_000;
export const MAX_HANDLE_TIME_SEC = 86_400;
export const MAX_CONCURRENCY = 1000;
/** Bounds the O(N) search: the answer is a little above A / concurrency operators. */
export const MAX_TRAFFIC_ERLANGS = 100_000;

interface GroupNow {
  target_sec: number | null;
  online: string;
  concurrency: string | null;
}

const round = (value: number, places: number): number => Math.round(value * 10 ** places) / 10 ** places;

/** A given number, checked; undefined when omitted. */
function given(field: string, value: number | null | undefined, ok: (v: number) => boolean, rule: string): number | undefined {
  if (value == null) return undefined;
  if (!Number.isFinite(value) || !ok(value)) throw new BadInputError(field, `${field} must be ${rule}`);
  return value;
}

/**
 * Staffing advice from the Erlang C model. Omitted inputs come from the group's (without a
 * group: the server's) live traffic: arrivals and mean handle time of the last hour, the mean
 * load of its ONLINE operators who hold dialogs (1 when none do), 80 %, and the group's
 * first-response target (the server default without a group).
 */
export class StaffingService {
  constructor(
    private readonly clock: Clock,
    private readonly defaultFirstResponseSec: number,
  ) {}

  async forecast(em: EntityManager, input: StaffingInput): Promise<StaffingForecast> {
    const groupId = input.groupId ?? null;
    if (groupId !== null && !isId(groupId)) throw new NotFoundError('Group', groupId, 'groupId');
    const [arrivals, handle, concurrency, targetPercentGiven, targetSecGiven] = validateAll(
      () =>
        given(
          'arrivalsPerHour',
          input.arrivalsPerHour,
          (v) => v >= 0 && v <= MAX_ARRIVALS_PER_HOUR,
          `in 0..${MAX_ARRIVALS_PER_HOUR}`,
        ),
      () =>
        given(
          'avgHandleTimeSec',
          input.avgHandleTimeSec,
          (v) => v > 0 && v <= MAX_HANDLE_TIME_SEC,
          `above 0 and at most ${MAX_HANDLE_TIME_SEC}`,
        ),
      () => given('concurrency', input.concurrency, (v) => v >= 1 && v <= MAX_CONCURRENCY, `in 1..${MAX_CONCURRENCY}`),
      // v / 100 too: a value so small that its share is 0 (5e-324) is not above 0 either.
      () => given('targetPercent', input.targetPercent, (v) => v / 100 > 0 && v < 100, 'above 0 and below 100'),
      () => given('targetSec', input.targetSec, (v) => Number.isInteger(v) && v >= 0 && v <= 86_400, 'an integer in 0..86400'),
    );
    const targetPercent = targetPercentGiven ?? DEFAULT_TARGET_PERCENT;

    const now = this.clock.now();
    const [group] = await em.execute<GroupNow[]>(
      `select ${groupId ? '(select sl_first_response_sec from groups where id = ? and deleted_at is null)' : 'null::int'} as target_sec,
              count(*) as online,
              avg(o.active_dialog_count) filter (where o.active_dialog_count > 0) as concurrency
         from operators o
        where o.status = 'ONLINE' and o.deleted_at is null
          ${groupId ? 'and o.id in (select operator_id from group_members where group_id = ?)' : ''}`,
      groupId ? [groupId, groupId] : [],
    );
    if (groupId !== null && group?.target_sec == null) throw new NotFoundError('Group', groupId, 'groupId');
    const live = arrivals === undefined || handle === undefined ? await liveFigures(em, groupId, now) : null;

    const arrivalsPerHour = arrivals ?? live!.arrivalsLastHour;
    const measuredHandle = handle ?? live?.avgHandleTimeSec ?? null;
    if (measuredHandle === null && arrivalsPerHour > 0) {
      throw new BadInputError('avgHandleTimeSec', 'no dialog was closed in the last hour to measure it: give avgHandleTimeSec');
    }
    const avgHandleTimeSec = measuredHandle ?? 0;
    const perOperator = concurrency ?? (group?.concurrency == null ? 1 : round(Number(group.concurrency), 2));
    const targetSec = targetSecGiven ?? group?.target_sec ?? this.defaultFirstResponseSec;
    const traffic = (arrivalsPerHour * avgHandleTimeSec) / 3600;
    if (traffic > MAX_TRAFFIC_ERLANGS) {
      throw new BadInputError(
        'arrivalsPerHour',
        `arrivalsPerHour × avgHandleTimeSec / 3600 must be at most ${MAX_TRAFFIC_ERLANGS} erlangs`,
      );
    }

    const needed = requiredAgents(traffic, avgHandleTimeSec, targetSec, targetPercent / 100, perOperator);
    const online = Number(group?.online ?? 0);
    const atOnline = online === 0 ? null : queueFigures(Math.floor(online * perOperator), traffic, avgHandleTimeSec, targetSec);
    return Object.assign(new StaffingForecast(), {
      groupId,
      arrivalsPerHour,
      avgHandleTimeSec,
      concurrency: perOperator,
      targetPercent,
      targetSec,
      requiredOperators: needed.agents,
      expectedSlPercent: round(needed.serviceLevel * 100, 2),
      onlineOperators: online,
      expectedSlPercentNow: atOnline === null ? null : round(atOnline.serviceLevel * 100, 2),
      probabilityOfWaiting: round(needed.probabilityOfWaiting, 4),
      avgWaitSec: round(needed.avgWait, 3),
    });
  }
}
