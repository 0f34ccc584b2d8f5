import type { EntityClass, EntityData, EntityManager, FilterQuery } from '@mikro-orm/postgresql';

/**
 * Writes `changes` to `entity`'s row with one UPDATE (nothing when there are none) and reloads
 * the entity from the row, as the caller answers with it. The unit of work never flushes
 * (shared/transaction.ts says why), so a change made on the entity alone would be lost.
 */
export async function updateRow<T extends { id: string }>(tx: EntityManager, entity: T, changes: EntityData<T>): Promise<T> {
  if (Object.keys(changes).length === 0) return entity;
  const type = entity.constructor as EntityClass<T>;
  await tx.nativeUpdate(type, { id: entity.id } as FilterQuery<T>, changes);
  const reloaded = await tx.refresh(entity);
  if (!reloaded) throw new Error(`${type.name} ${entity.id} vanished inside its own transaction`);
  return reloaded;
}
