import type { EntityClass, EntityData, EntityManager, FilterQuery, RequiredEntityData } from '@mikro-orm/postgresql';

/*
 * Writes go to the database as statements when the code reaches them: the unit of work never
 * flushes (shared/transaction.ts says why), so a change made on an entity alone would be lost.
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

/**
 * Writes `changes` to `entity`'s row with one UPDATE (nothing when there are none) and reloads
 * the entity from the row, as the caller answers with it.
 */
export async function updateRow<T extends { id: string }>(tx: EntityManager, entity: T, changes: EntityData<T>): Promise<T> {
  if (Object.keys(changes).length === 0) return entity;
  const type = entity.constructor as EntityClass<T>;
  await tx.nativeUpdate(type, { id: entity.id } as FilterQuery<T>, changes);
  const reloaded = await tx.refresh(entity);
  if (!reloaded) throw new Error(`${type.name} ${entity.id} vanished inside its own transaction`);
  return reloaded;
}
