import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError } from '../shared/errors.js';
import { lockOperators } from '../shared/operator-locks.js';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';
import { isId } from '../shared/validate.js';
import { OperatorStatus } from './operator-status.js';

/**
 * An operator as the API answers with it (the GraphQL type `Operator`): a plain object built from
 * its row. Routing changes an operator's load by SQL; reading the row each time means an answer
 * never shows a copy held from before.
 */
export interface OperatorRecord {
  readonly id: string;
  readonly userId: string;
  readonly maxDialogs: number;
  readonly autoLogoutSec: number;
  readonly status: OperatorStatus;
  readonly awayReason: string | null;
  readonly presenceSeenAt: Date | null;
  readonly activeDialogCount: number;
  readonly lastActivityAt: Date | null;
  readonly lastAssignedAt: Date | null;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  /** The myDialogs stream's sequence (topic `operator:<id>`), read in the same statement as the row. */
  readonly dialogsSeq: number;
}

/** An operators row as PostgreSQL returns it (`select o.*, DIALOGS_SEQ`). */
interface OperatorRow {
  readonly id: string;
  readonly user_id: string;
  readonly max_dialogs: number;
  readonly auto_logout_sec: number;
  readonly status: string;
  readonly away_reason: string | null;
  readonly presence_seen_at: string | Date | null;
  readonly active_dialog_count: number;
  readonly last_activity_at: string | Date | null;
  readonly last_assigned_at: string | Date | null;
  readonly created_at: string | Date;
  readonly deleted_at: string | Date | null;
  readonly dialogs_seq: string;
}

/** Operator `o`'s row and its myDialogs stream's sequence, for `select ${OPERATOR_COLUMNS} from operators o`. */
export const OPERATOR_COLUMNS = `o.*, coalesce((select et.seq from event_topics et where et.topic = 'operator:' || o.id), 0) as dialogs_seq`;

export function operatorRecord(row: OperatorRow): OperatorRecord {
  return {
    id: row.id,
    userId: row.user_id,
    maxDialogs: row.max_dialogs,
    autoLogoutSec: row.auto_logout_sec,
    status: row.status as OperatorStatus,
    awayReason: row.away_reason,
    presenceSeenAt: pgDate(row.presence_seen_at),
    activeDialogCount: row.active_dialog_count,
    lastActivityAt: pgDate(row.last_activity_at),
    lastAssignedAt: pgDate(row.last_assigned_at),
    createdAt: pgDate(row.created_at)!,
    deletedAt: pgDate(row.deleted_at),
    dialogsSeq: Number(row.dialogs_seq),
  };
}

/** Operators `o` matching `where`, as records. */
async function selectOperators(em: EntityManager, where: string, params: unknown[], orderBy = ''): Promise<OperatorRecord[]> {
  const rows = await em.execute<OperatorRow[]>(`select ${OPERATOR_COLUMNS} from operators o where ${where}${orderBy}`, params);
  return rows.map(operatorRecord);
}

/** The operators with these ids, deleted ones too (history refers to them), in no order. */
export function readOperators(em: EntityManager, ids: readonly string[]): Promise<OperatorRecord[]> {
  return ids.length === 0 ? Promise.resolve([]) : selectOperators(em, 'o.id in (?)', [ids]);
}

/** The live operators with these ids, in no order. */
export function readLiveOperators(em: EntityManager, ids: readonly string[]): Promise<OperatorRecord[]> {
  return ids.length === 0 ? Promise.resolve([]) : selectOperators(em, 'o.id in (?) and o.deleted_at is null', [ids]);
}

/**
 * The live operator `id`; NOT_FOUND naming `field` when there is none. `lock`: its row is locked
 * first, FOR NO KEY UPDATE, the strength of every operator lock (see routing/router.ts).
 */
export async function requireOperator(em: EntityManager, id: string, field = 'id', lock = false): Promise<OperatorRecord> {
  if (!isId(id)) throw new NotFoundError('Operator', id, field);
  if (lock) await lockOperators(em, [id]);
  const [operator] = await readLiveOperators(em, [id]);
  if (!operator) throw new NotFoundError('Operator', id, field);
  return operator;
}

/** The live operator of each of these users (at most one each), in no order. */
export function readOperatorsOfUsers(em: EntityManager, userIds: readonly string[]): Promise<OperatorRecord[]> {
  return userIds.length === 0 ? Promise.resolve([]) : selectOperators(em, 'o.user_id in (?) and o.deleted_at is null', [userIds]);
}

/** Live operators, oldest first; only `status`, and only members of `groupId`, when given. */
export function listOperators(
  em: EntityManager,
  filter: { groupId?: string | null; status?: OperatorStatus | null },
): Promise<OperatorRecord[]> {
  const where = ['o.deleted_at is null'];
  const params: unknown[] = [];
  if (filter.status != null) {
    where.push('o.status = ?');
    params.push(filter.status);
  }
  if (filter.groupId != null) {
    where.push('exists (select 1 from group_members gm where gm.operator_id = o.id and gm.group_id = ?)');
    params.push(filter.groupId);
  }
  return selectOperators(em, where.join(' and '), params, ' order by o.created_at, o.id');
}

/**
 * What an operator's row is written from, outside routing (which writes loads and assignments
 * in its own statements, src/routing/router.ts).
 */
export type OperatorFields = Pick<
  OperatorRecord,
  | 'userId'
  | 'maxDialogs'
  | 'autoLogoutSec'
  | 'status'
  | 'awayReason'
  | 'presenceSeenAt'
  | 'lastActivityAt'
  | 'createdAt'
  | 'deletedAt'
>;

const operatorRows = rowWriter<OperatorFields>('operators', {
  userId: 'user_id',
  maxDialogs: 'max_dialogs',
  autoLogoutSec: 'auto_logout_sec',
  status: 'status',
  awayReason: 'away_reason',
  presenceSeenAt: 'presence_seen_at',
  lastActivityAt: 'last_activity_at',
  createdAt: 'created_at',
  deletedAt: 'deleted_at',
});

/** Inserts an operator profile (OFFLINE, holding nothing); answers with its id. */
export function insertOperator(
  em: EntityManager,
  fields: Pick<OperatorFields, 'userId' | 'createdAt'> & Partial<Pick<OperatorFields, 'maxDialogs' | 'autoLogoutSec'>>,
): Promise<string> {
  return operatorRows.insert(em, fields);
}

export const updateOperator = operatorRows.update;

/** The live operator profile of the account `userId`, if it has one, was active at `at`. */
export async function touchOperatorOfUser(em: EntityManager, userId: string, at: Date): Promise<void> {
  await em.execute('update operators set last_activity_at = ? where user_id = ? and deleted_at is null', [at, userId]);
}
