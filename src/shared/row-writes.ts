import type { EntityClass, EntityData, EntityManager, FilterQuery, RequiredEntityData } from '@mikro-orm/postgresql';

/*
 * Writes go to the database as statements when the code reaches them: the unit of work never
 * flushes (shared/transaction.ts says why), so a change made on an entity alone would be lost.
 * What the API answers with is read back as a typed record, never from these entities.
 */

/** Inserts a row (the entity's defaults filled in, as `em.create` does) and answers with its entity. */
export async function insertRow<T extends object>(
  tx: EntityManager,
  type: EntityClass<T>,
  data: RequiredEntityData<T>,
): Promise<T> {
  const entity = tx.create(type, data, { persist: false });
  await tx.insert(entity);
  return entity;
}

/** Writes `changes` to the row `id` with one UPDATE; nothing when there are none. */
export async function updateRow<T extends { id: string }>(
  tx: EntityManager,
  type: EntityClass<T>,
  id: string,
  changes: EntityData<T>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await tx.nativeUpdate(type, { id } as FilterQuery<T>, changes);
}
