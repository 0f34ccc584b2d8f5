import { topics } from '../events/topics.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import type { Viewer } from '../auth/viewer.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { isStorableDate, pgDate } from '../shared/pg-time.js';
import { afterSql, orderBySql, reversed, type KeyValue, type SortKey } from '../shared/keyset.js';
import { isId, validateAll } from '../shared/validate.js';
import { QUEUE_KEYS, QUEUE_ORDER } from '../routing/rules.js';
import { liveFigures, type LiveFigures } from '../sl/live-figures.js';
import { DialogOrder } from './dialog-enums.js';
import { dialogRecord, EVENT_SEQ, type DialogRecord, type DialogRow } from './dialog-record.js';
import type { DialogFilter } from './dialog.inputs.js';
import { DialogConnection, QueueStats } from './dialog.types.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** Each ordering's keys; every one ends with the id, so a cursor names exactly one position. */
const ORDERS: Readonly<Record<DialogOrder, readonly SortKey[]>> = {
  [DialogOrder.CREATED_DESC]: [
    { column: 'created_at', direction: 'desc', type: 'timestamptz' },
    { column: 'id', direction: 'desc', type: 'uuid' },
  ],
  [DialogOrder.CREATED_ASC]: [
    { column: 'created_at', direction: 'asc', type: 'timestamptz' },
    { column: 'id', direction: 'asc', type: 'uuid' },
  ],
  [DialogOrder.LAST_MESSAGE_DESC]: [
    { column: 'last_message_seq', direction: 'desc', nulls: 'last', type: 'bigint' },
    { column: 'id', direction: 'desc', type: 'uuid' },
  ],
  [DialogOrder.QUEUE_ORDER]: QUEUE_KEYS,
};

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** A dialog's value of each column an ordering can use, as a cursor holds it. */
const CURSOR_VALUES: Readonly<Record<string, (dialog: DialogRecord) => KeyValue>> = {
  id: (d) => d.id,
  priority: (d) => String(d.priority),
  created_at: (d) => iso(d.createdAt),
  last_message_seq: (d) => d.lastMessageSeq,
  sl_deadline: (d) => iso(d.slDeadline),
  queued_at: (d) => iso(d.queuedAt),
};

function cursorValue(column: string): (dialog: DialogRecord) => KeyValue {
  const value = CURSOR_VALUES[column];
  // An ordering over a column without a cursor value is a programming error, found by any test that pages.
  if (!value) throw new Error(`no cursor value for dialogs.${column}`);
  return value;
}

/** Opaque to clients: the ordering and the row's key values. */
function encodeCursor(order: DialogOrder, dialog: DialogRecord): string {
  const values = ORDERS[order].map((key) => cursorValue(key.column)(dialog));
  return Buffer.from(JSON.stringify([order, ...values])).toString('base64url');
}

function validKeyValue(key: SortKey, value: unknown): value is KeyValue {
  if (value === null) return key.nulls !== undefined;
  if (typeof value !== 'string') return false;
  switch (key.type) {
    case 'uuid':
      return isId(value);
    case 'bigint':
      return /^\d{1,18}$/.test(value);
    case 'integer':
      return /^-?\d{1,9}$/.test(value);
    case 'timestamptz': {
      // As encodeCursor writes it: JavaScript reads "1" or "March 7" as dates, PostgreSQL does not;
      // and a date the database cannot compare with (year 275760, or before year 1) is refused too.
      const date = new Date(value);
      return isStorableDate(date) && date.toISOString() === value;
    }
  }
}

/** The cursor's key values, or null when it is not a cursor of this ordering. */
function parsedCursor(order: DialogOrder, cursor: string): KeyValue[] | null {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const keys = ORDERS[order];
  if (!Array.isArray(decoded) || decoded.length !== keys.length + 1 || decoded[0] !== order) return null;
  const values: unknown[] = decoded.slice(1);
  // every() with a type guard narrows the array itself.
  return values.every((value, i): value is KeyValue => validKeyValue(keys[i], value)) ? values : null;
}

function decodeCursor(field: 'after' | 'before', order: DialogOrder, cursor: string | null | undefined): KeyValue[] | null {
  if (cursor == null) return null;
  const values = parsedCursor(order, cursor);
  if (!values) throw new BadInputError(field, `${field} is not a cursor this API returned for orderBy ${order}`);
  return values;
}

function pageSize(field: 'first' | 'last', value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new BadInputError(field, `${field} must be an integer in 0..${MAX_PAGE_SIZE}`);
  }
  return value;
}

/** Which slice of the ordered dialogs a page is. */
export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
  readonly orderBy?: DialogOrder | null;
}

interface Condition {
  readonly sql: string;
  readonly params: readonly unknown[];
}

function and(conditions: readonly Condition[]): Condition {
  return conditions.length
    ? { sql: conditions.map((c) => `(${c.sql})`).join(' and '), params: conditions.flatMap((c) => c.params) }
    : { sql: 'true', params: [] };
}

/** A malformed id names no dialog: the filter then matches nothing (as an unknown id does). */
function idIs(column: string, id: string): Condition {
  return isId(id) ? { sql: `d.${column} = ?`, params: [id] } : { sql: 'false', params: [] };
}

/** The filter's conditions; all must hold. */
function filterConditions(filter: DialogFilter | null | undefined): Condition[] {
  if (!filter) return [];
  const out: Condition[] = [];
  // Each status once: the list is the client's, and every entry would be a bound value.
  if (filter.status?.length) out.push({ sql: 'd.status in (?)', params: [[...new Set(filter.status)]] });
  if (filter.groupId != null) out.push(idIs('group_id', filter.groupId));
  if (filter.operatorId != null) out.push(idIs('operator_id', filter.operatorId));
  if (filter.scenarioId != null) out.push(idIs('scenario_id', filter.scenarioId));
  if (filter.externalId != null) out.push({ sql: 'd.external_id = ?', params: [filter.externalId.trim()] });
  if (filter.createdFrom != null) out.push({ sql: 'd.created_at >= ?', params: [filter.createdFrom] });
  if (filter.createdTo != null) out.push({ sql: 'd.created_at < ?', params: [filter.createdTo] });
  return out;
}

/** Reads of dialogs, limited to what the viewer may see. */
export class DialogQueries {
  constructor(private readonly clock: Clock) {}

  /**
   * Operators see dialogs assigned to them, queued in Help, or aimed at their groups;
   * everyone else with read access sees all.
   */
  private visibility(viewer: Viewer): Condition {
    if (viewer.role !== Role.OPERATOR) return { sql: 'true', params: [] };
    if (viewer.operatorId === null) return { sql: `d.status = 'QUEUED'`, params: [] };
    return {
      // Closed dialogs keep their operator; "assigned to them" means now.
      sql: `(d.operator_id = ? and d.status = 'ASSIGNED') or d.status = 'QUEUED'
            or d.group_id in (select group_id from group_members where operator_id = ?)`,
      params: [viewer.operatorId, viewer.operatorId],
    };
  }

  async exists(em: EntityManager, id: string): Promise<boolean> {
    return isId(id) && (await em.execute<unknown[]>('select 1 from dialogs where id = ?', [id])).length > 0;
  }

  async find(em: EntityManager, viewer: Viewer, id: string): Promise<DialogRecord | null> {
    if (!isId(id)) return null;
    const visible = this.visibility(viewer);
    const [row] = await em.execute<DialogRow[]>(`select d.*, ${EVENT_SEQ} from dialogs d where d.id = ? and (${visible.sql})`, [
      id,
      ...visible.params,
    ]);
    return row ? dialogRecord(row) : null;
  }

  /**
   * A Relay page: `first` (default 50) after the `after` cursor, or the `last` before the `before`
   * cursor, in `orderBy` (default newest first). Cursors are opaque key values, stable under
   * inserts; one given for another ordering is refused. Every invalid argument is reported at once.
   */
  async connection(
    em: EntityManager,
    viewer: Viewer,
    filter: DialogFilter | null | undefined,
    page: PageArgs,
  ): Promise<DialogConnection> {
    const order = page.orderBy ?? DialogOrder.CREATED_DESC;
    const [first, last, after, before] = validateAll(
      () => pageSize('first', page.first),
      () => pageSize('last', page.last),
      () => decodeCursor('after', order, page.after),
      () => decodeCursor('before', order, page.before),
      () => {
        if (page.first != null && page.last != null) throw new BadInputError('last', 'give first or last, not both');
      },
      () => {
        const { createdFrom, createdTo } = filter ?? {};
        if (createdFrom && createdTo && !(createdTo.getTime() > createdFrom.getTime()))
          throw new BadInputError('createdTo', 'createdTo must be after createdFrom');
      },
    );
    const keys = ORDERS[order];
    const where = and([this.visibility(viewer), ...filterConditions(filter)]);
    // Paging backwards walks the ordering reversed from `before`, then turns the page around.
    const backwards = last !== null;
    const size = (backwards ? last : first) ?? DEFAULT_PAGE_SIZE;
    const walk = backwards ? reversed(keys) : keys;
    const [from, until] = backwards ? [before, after] : [after, before];
    const bounds: Condition[] = [];
    if (from) bounds.push(afterSql(walk, from, 'd'));
    if (until) bounds.push(afterSql(reversed(walk), until, 'd'));
    const pageWhere = and([where, ...bounds]);
    // Whether any row lies behind the starting cursor (hasPreviousPage paging forward,
    // hasNextPage paging backward), read with the total in one pass over the filtered rows.
    const pastStart = from ? afterSql(walk, from, 'd') : null;
    const [rows, [totals]] = await Promise.all([
      em.execute<DialogRow[]>(`select d.* from dialogs d where ${pageWhere.sql} order by ${orderBySql(walk, 'd')} limit ?`, [
        ...pageWhere.params,
        size + 1,
      ]),
      em.execute<Array<{ total: number; behind: boolean }>>(
        `select count(*)::int as total, ${pastStart ? `coalesce(bool_or(not (${pastStart.sql})), false)` : 'false'} as behind
           from dialogs d where ${where.sql}`,
        [...(pastStart?.params ?? []), ...where.params],
      ),
    ]);
    const more = rows.length > size;
    const nodes = rows.slice(0, size).map(dialogRecord);
    if (backwards) nodes.reverse();
    const edges = nodes.map((node) => ({ cursor: encodeCursor(order, node), node }));
    const behindStart = totals?.behind ?? false;
    return {
      edges,
      totalCount: totals?.total ?? 0,
      pageInfo: {
        hasNextPage: backwards ? behindStart : more,
        hasPreviousPage: backwards ? more : behindStart,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** QUEUED dialogs, most urgent first (the order draining follows). */
  async helpQueue(em: EntityManager): Promise<DialogRecord[]> {
    const rows = await em.execute<DialogRow[]>(`select d.* from dialogs d where d.status = 'QUEUED' order by ${QUEUE_ORDER}`);
    return rows.map(dialogRecord);
  }

  /** Without a group: the Help queue as a whole and all online operators. */
  async queueStats(em: EntityManager, groupId: string | null): Promise<QueueStats> {
    if (groupId !== null && !isId(groupId)) throw new BadInputError('groupId', 'groupId is not an id');
    // One statement, as stats run once per queue event: the queue, the stream's sequence and the
    // operators are read from one snapshot, so the figures are exactly those as of that sequence.
    // A deleted group still counts (its dialogs keep it, like reports do), so live streams keep working.
    const topic = groupId === null ? topics.helpQueue : topics.groupQueue(groupId);
    const [row] = await em.execute<
      Array<{
        queued: string;
        oldest: string | null;
        group_exists: boolean;
        sequence: string;
        online: string;
        free: string | null;
      }>
    >(
      `select q.queued, q.oldest, o.online, o.free,
              ${groupId ? 'exists (select 1 from groups where id = ?)' : 'true'} as group_exists,
              coalesce((select seq from event_topics where topic = ?), 0) as sequence
         from (select count(*) as queued, min(queued_at) as oldest
                 from dialogs
                where status = 'QUEUED' ${groupId ? 'and group_id = ?' : ''}) q,
              (select count(*) as online, sum(max_dialogs - active_dialog_count) as free
                 from operators
                where status = 'ONLINE' and deleted_at is null
                  ${groupId ? 'and id in (select operator_id from group_members where group_id = ?)' : ''}) o`,
      groupId ? [groupId, topic, groupId, groupId] : [topic],
    );
    if (groupId !== null && !row?.group_exists) throw new NotFoundError('Group', groupId, 'groupId');
    const oldest = pgDate(row?.oldest);
    const now = this.clock.now();
    let live: Promise<LiveFigures> | undefined;
    return Object.assign(new QueueStats(), {
      groupId,
      sequence: Number(row?.sequence ?? 0),
      queued: Number(row?.queued ?? 0),
      longestWaitSec: oldest ? Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)) : 0,
      onlineOperators: Number(row?.online ?? 0),
      freeCapacity: Number(row?.free ?? 0),
      live: () => (live ??= liveFigures(em, groupId, now)),
    });
  }
}
