import type { EntityManager } from '@mikro-orm/postgresql';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';

/**
 * A group as the API answers with it (the GraphQL type `Group`): a plain object built from its
 * row. The entity keeps the schema; reads never go through the identity map, so nothing read
 * before a commit can shadow what the commit wrote.
 */
export interface GroupRecord {
  readonly id: string;
  readonly name: string;
  readonly slFirstResponseSec: number;
  readonly slNextResponseSec: number;
  readonly reassignAfterSec: number;
  readonly maxQueued: number;
  readonly preferLastOperatorSec: number;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
}

/** A groups row as PostgreSQL returns it (`select g.*`). */
interface GroupRow {
  readonly id: string;
  readonly name: string;
  readonly sl_first_response_sec: number;
  readonly sl_next_response_sec: number;
  readonly reassign_after_sec: number;
  readonly max_queued: number;
  readonly prefer_last_operator_sec: number;
  readonly created_at: string | Date;
  readonly deleted_at: string | Date | null;
}

export function groupRecord(row: GroupRow): GroupRecord {
  return {
    id: row.id,
    name: row.name,
    slFirstResponseSec: row.sl_first_response_sec,
    slNextResponseSec: row.sl_next_response_sec,
    reassignAfterSec: row.reassign_after_sec,
    maxQueued: row.max_queued,
    preferLastOperatorSec: row.prefer_last_operator_sec,
    createdAt: pgDate(row.created_at)!,
    deletedAt: pgDate(row.deleted_at),
  };
}

/** Groups `g` matching `where`, as records. */
async function selectGroups(em: EntityManager, where: string, params: unknown[], orderBy = ''): Promise<GroupRecord[]> {
  return (await em.execute<GroupRow[]>(`select g.* from groups g where ${where}${orderBy}`, params)).map(groupRecord);
}

/** The groups with these ids, deleted ones too (history refers to them), in no order. */
export function readGroups(em: EntityManager, ids: readonly string[]): Promise<GroupRecord[]> {
  return ids.length === 0 ? Promise.resolve([]) : selectGroups(em, 'g.id in (?)', [ids]);
}

/** The live groups with these ids, in no order. */
export function readLiveGroups(em: EntityManager, ids: readonly string[]): Promise<GroupRecord[]> {
  return ids.length === 0 ? Promise.resolve([]) : selectGroups(em, 'g.id in (?) and g.deleted_at is null', [ids]);
}

/** Every live group, by name. */
export function listGroups(em: EntityManager): Promise<GroupRecord[]> {
  return selectGroups(em, 'g.deleted_at is null', [], ' order by g.name, g.id');
}

/** What a group's row is written from; a field left out of an insert takes its column's default. */
export type GroupFields = Omit<GroupRecord, 'id'>;

const groupRows = rowWriter<GroupFields>('groups', {
  name: 'name',
  slFirstResponseSec: 'sl_first_response_sec',
  slNextResponseSec: 'sl_next_response_sec',
  reassignAfterSec: 'reassign_after_sec',
  maxQueued: 'max_queued',
  preferLastOperatorSec: 'prefer_last_operator_sec',
  createdAt: 'created_at',
  deletedAt: 'deleted_at',
});

/** Inserts a group; answers with its id. */
export function insertGroup(
  em: EntityManager,
  fields: Pick<GroupFields, 'name' | 'slFirstResponseSec' | 'slNextResponseSec' | 'createdAt'> & Partial<GroupFields>,
): Promise<string> {
  return groupRows.insert(em, fields);
}

export const updateGroup = groupRows.update;
