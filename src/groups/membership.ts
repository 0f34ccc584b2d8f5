import type { EntityManager } from '@mikro-orm/postgresql';
import { BadInputError, NotFoundError } from '../shared/errors.js';
import { isId } from '../shared/validate.js';
import { readLiveGroups, type GroupRecord } from './group-record.js';
import { readLiveOperators, type OperatorRecord } from '../operators/operator-record.js';

/** The most ids a list argument may hold: each is a bound value of a statement, which has at most 65,535. */
const MAX_IDS_PER_LIST = 1000;

/** `ids` each once; BAD_USER_INPUT (naming `field`) for a list over MAX_IDS_PER_LIST. */
function uniqueIds(ids: readonly string[], field: string): string[] {
  const unique = [...new Set(ids)];
  if (unique.length > MAX_IDS_PER_LIST) throw new BadInputError(field, `${field} must hold at most ${MAX_IDS_PER_LIST} ids`);
  return unique;
}

/** Loads live groups by id, in no order; NOT_FOUND (naming `field`) for any unknown id. */
export async function requireGroups(em: EntityManager, ids: readonly string[], field: string): Promise<GroupRecord[]> {
  const unique = uniqueIds(ids, field);
  const bad = unique.find((id) => !isId(id));
  if (bad !== undefined) throw new NotFoundError('Group', bad, field);
  const found = await readLiveGroups(em, unique);
  const missing = unique.find((id) => !found.some((g) => g.id === id));
  if (missing !== undefined) throw new NotFoundError('Group', missing, field);
  return found;
}

/** Loads live operators by id, in no order; NOT_FOUND (naming `field`) for any unknown id. */
export async function requireOperators(em: EntityManager, ids: readonly string[], field: string): Promise<OperatorRecord[]> {
  const unique = uniqueIds(ids, field);
  const bad = unique.find((id) => !isId(id));
  if (bad !== undefined) throw new NotFoundError('Operator', bad, field);
  const found = await readLiveOperators(em, unique);
  const missing = unique.find((id) => !found.some((o) => o.id === id));
  if (missing !== undefined) throw new NotFoundError('Operator', missing, field);
  return found;
}

/** Adds memberships; existing ones are left as they are. */
export async function addMemberships(
  em: EntityManager,
  pairs: ReadonlyArray<{ groupId: string; operatorId: string }>,
  at: Date,
): Promise<void> {
  if (pairs.length === 0) return;
  const values = pairs.map(() => '(?, ?, ?)').join(', ');
  await em.execute(
    `insert into group_members (group_id, operator_id, created_at) values ${values}
     on conflict do nothing`,
    pairs.flatMap((p) => [p.groupId, p.operatorId, at]),
  );
}

export async function removeMemberships(
  em: EntityManager,
  where: { groupId?: string; operatorId?: string; operatorIds?: readonly string[] },
): Promise<void> {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (where.groupId !== undefined) {
    clauses.push('group_id = ?');
    params.push(where.groupId);
  }
  if (where.operatorId !== undefined) {
    clauses.push('operator_id = ?');
    params.push(where.operatorId);
  }
  if (where.operatorIds !== undefined) {
    if (where.operatorIds.length === 0) return;
    clauses.push(`operator_id in (${where.operatorIds.map(() => '?').join(', ')})`);
    params.push(...where.operatorIds);
  }
  if (clauses.length === 0) throw new Error('removeMemberships needs a condition');
  await em.execute(`delete from group_members where ${clauses.join(' and ')}`, params);
}
