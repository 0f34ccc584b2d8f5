import type { EntityManager } from '@mikro-orm/postgresql';

/** Below every operator id: a transaction holding no operator row may wait for any. */
export const NO_OPERATOR = '00000000-0000-0000-0000-000000000000';

/** The highest operator id each transaction holds locked (retries get a fresh EntityManager). */
const highest = new WeakMap<EntityManager, string>();

/** Records operator rows `tx` now holds locked, whether by a lock, a pick or an update. */
export function holdOperators(tx: EntityManager, ids: ReadonlyArray<string | null>): void {
  for (const id of ids) {
    // Postgres orders uuids as their lowercase text does.
    const key = id?.toLowerCase();
    if (key !== undefined && key > (highest.get(tx) ?? NO_OPERATOR)) highest.set(tx, key);
  }
}

/**
 * The id an operator row must be above for `tx` to wait for it: waiting only upward, in id
 * order, no two transactions can each wait for an operator row the other holds.
 */
export function operatorWaitFloor(tx: EntityManager): string {
  return highest.get(tx) ?? NO_OPERATOR;
}

/** Locks operator rows FOR NO KEY UPDATE in id order (see routing/router.ts for why that strength). */
export async function lockOperators(tx: EntityManager, ids: ReadonlyArray<string | null>): Promise<void> {
  const wanted = [...new Set(ids.flatMap((id) => (id === null ? [] : [id.toLowerCase()])))].sort();
  if (wanted.length === 0) return;
  await tx.execute('select id from operators where id in (?) order by id for no key update', [wanted]);
  holdOperators(tx, wanted);
}
