import type { EntityDictionary, FilterQuery } from '@mikro-orm/core';
import { topics } from '../realtime/topics.js';
import { QUEUE_ORDER } from '../routing/rules.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import type { Viewer } from '../auth/viewer.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { isStorableDate, pgDate } from '../shared/pg-time.js';
import { isId } from '../shared/validate.js';
import { liveFigures } from '../sl/live-figures.js';
import { DialogStatus } from './dialog-enums.js';
import { Dialog } from './dialog.entity.js';
import type { DialogFilter } from './dialog.inputs.js';
import { DialogConnection, QueueStats } from './dialog.types.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

interface Cursor {
  readonly createdAt: Date;
  readonly id: string;
}

function encodeCursor(dialog: Dialog): string {
  return Buffer.from(JSON.stringify([dialog.createdAt.toISOString(), dialog.id])).toString('base64url');
}

function parsedCursor(cursor: string): Cursor | null {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return null;
  const [createdAt, id] = decoded as unknown[];
  if (typeof createdAt !== 'string' || typeof id !== 'string' || !isId(id)) return null;
  const at = new Date(createdAt);
  // A crafted date the database cannot compare with (year 275760, or before year 1).
  return isStorableDate(at) ? { createdAt: at, id } : null;
}

function decodeCursor(cursor: string): Cursor {
  const decoded = parsedCursor(cursor);
  if (!decoded) throw new BadInputError('after', 'after is not a cursor this API returned');
  return decoded;
}

/** Reads of dialogs, limited to what the viewer may see. */
export class DialogQueries {
  constructor(private readonly clock: Clock) {}

  /**
   * Operators see dialogs assigned to them, queued in Help, or aimed at their groups;
   * everyone else with read access sees all.
   */
  private async visibility(em: EntityManager, viewer: Viewer): Promise<FilterQuery<Dialog>> {
    if (viewer.role !== Role.OPERATOR) return {};
    if (viewer.operatorId === null) return { status: DialogStatus.QUEUED };
    const groups = await em.execute<Array<{ group_id: string }>>('select group_id from group_members where operator_id = ?', [
      viewer.operatorId,
    ]);
    return {
      $or: [
        // Closed dialogs keep their operator; "assigned to them" means now.
        { operator: viewer.operatorId, status: DialogStatus.ASSIGNED },
        { status: DialogStatus.QUEUED },
        ...(groups.length ? [{ group: { $in: groups.map((g) => g.group_id) } }] : []),
      ],
    };
  }

  async exists(em: EntityManager, id: string): Promise<boolean> {
    return isId(id) && (await em.execute<unknown[]>('select 1 from dialogs where id = ?', [id])).length > 0;
  }

  async find(em: EntityManager, viewer: Viewer, id: string): Promise<Dialog | null> {
    if (!isId(id)) return null;
    return em.findOne(Dialog, { $and: [{ id }, await this.visibility(em, viewer)] }, { refresh: true });
  }

  /** Newest first; cursors are opaque (createdAt, id) pairs, stable under inserts. */
  async connection(
    em: EntityManager,
    viewer: Viewer,
    filter: DialogFilter | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<DialogConnection> {
    const size = first ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
      throw new BadInputError('first', `first must be an integer in 0..${MAX_PAGE_SIZE}`);
    }
    const cursor = after ? decodeCursor(after) : null;
    const conditions: Array<FilterQuery<Dialog>> = [await this.visibility(em, viewer)];
    if (filter?.status?.length) conditions.push({ status: { $in: filter.status } });
    if (filter?.groupId != null) conditions.push(isId(filter.groupId) ? { group: filter.groupId } : { id: null });
    if (filter?.operatorId != null) conditions.push(isId(filter.operatorId) ? { operator: filter.operatorId } : { id: null });
    if (filter?.externalId != null) conditions.push({ externalId: filter.externalId.trim() });
    const where: FilterQuery<Dialog> = { $and: conditions };
    const page: FilterQuery<Dialog> = cursor
      ? {
          $and: [
            ...conditions,
            { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: cursor.id } }] },
          ],
        }
      : where;
    const [rows, totalCount] = await Promise.all([
      em.find(Dialog, page, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
      em.count(Dialog, where),
    ]);
    const nodes = rows.slice(0, size);
    const edges = nodes.map((node) => ({ cursor: encodeCursor(node), node }));
    return {
      edges,
      totalCount,
      pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }

  /** QUEUED dialogs in the drain order (rules.QUEUE_ORDER): queuePosition 1, 2, 3… */
  async helpQueue(em: EntityManager): Promise<Dialog[]> {
    const rows = await em.execute<Array<EntityDictionary<Dialog>>>(
      `select d.* from dialogs d where d.status = 'QUEUED' order by ${QUEUE_ORDER}`,
    );
    return rows.map((row) => em.map(Dialog, row));
  }

  /** Without a group: the Help queue as a whole and all online operators. */
  async queueStats(em: EntityManager, groupId: string | null): Promise<QueueStats> {
    if (groupId !== null && !isId(groupId)) throw new BadInputError('groupId', 'groupId is not an id');
    // Existence is read in the same statement, as stats run once per queue event. A deleted
    // group still counts (its dialogs keep it, like reports do), so live streams keep working.
    // The stream's sequence is read first, with the queue: what is read after it can only be newer.
    const topic = groupId === null ? topics.helpQueue : topics.groupQueue(groupId);
    const [queue] = await em.execute<Array<{ queued: string; oldest: string | null; group_exists: boolean; sequence: string }>>(
      `select count(*) as queued, min(queued_at) as oldest,
              ${groupId ? 'exists (select 1 from groups where id = ?)' : 'true'} as group_exists,
              coalesce((select seq from event_topics where topic = ?), 0) as sequence
         from dialogs
        where status = 'QUEUED' ${groupId ? 'and group_id = ?' : ''}`,
      groupId ? [groupId, topic, groupId] : [topic],
    );
    if (groupId !== null && !queue?.group_exists) throw new NotFoundError('Group', groupId, 'groupId');
    const [ops] = await em.execute<Array<{ online: string; free: string | null }>>(
      `select count(*) as online, sum(o.max_dialogs - o.active_dialog_count) as free
         from operators o
        where o.status = 'ONLINE' and o.deleted_at is null
          ${groupId ? 'and o.id in (select operator_id from group_members where group_id = ?)' : ''}`,
      groupId ? [groupId] : [],
    );
    const oldest = pgDate(queue?.oldest);
    const now = this.clock.now();
    return Object.assign(new QueueStats(), {
      groupId,
      sequence: Number(queue?.sequence ?? 0),
      queued: Number(queue?.queued ?? 0),
      longestWaitSec: oldest ? Math.max(0, Math.floor((now.getTime() - oldest.getTime()) / 1000)) : 0,
      onlineOperators: Number(ops?.online ?? 0),
      freeCapacity: Number(ops?.free ?? 0),
      ...(await liveFigures(em, groupId, now)),
    });
  }
}
