import type { EntityManager } from '@mikro-orm/postgresql';
import { pgDate } from '../shared/pg-time.js';
import { rowWriter } from '../shared/sql.js';

/** A scenario as the API answers with it (the GraphQL type `Scenario`): a plain object built from its row. */
export interface ScenarioRecord {
  readonly id: string;
  readonly name: string;
  readonly fallbackGroupId: string | null;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
}

interface ScenarioRow {
  readonly id: string;
  readonly name: string;
  readonly fallback_group_id: string | null;
  readonly created_at: string | Date;
  readonly deleted_at: string | Date | null;
}

function scenarioRecord(row: ScenarioRow): ScenarioRecord {
  return {
    id: row.id,
    name: row.name,
    fallbackGroupId: row.fallback_group_id,
    createdAt: pgDate(row.created_at)!,
    deletedAt: pgDate(row.deleted_at),
  };
}

/** The scenarios with these ids, deleted ones too (dialogs keep theirs), in no order. */
export async function readScenarios(em: EntityManager, ids: readonly string[]): Promise<ScenarioRecord[]> {
  if (ids.length === 0) return [];
  return (await em.execute<ScenarioRow[]>('select s.* from scenarios s where s.id in (?)', [ids])).map(scenarioRecord);
}

/** The live scenario `id`, its row locked FOR UPDATE when `lock`; null when there is none. */
export async function readLiveScenario(em: EntityManager, id: string, lock = false): Promise<ScenarioRecord | null> {
  const [row] = await em.execute<ScenarioRow[]>(
    `select s.* from scenarios s where s.id = ? and s.deleted_at is null${lock ? ' for update' : ''}`,
    [id],
  );
  return row ? scenarioRecord(row) : null;
}

/** Every live scenario, oldest first. */
export async function listScenarios(em: EntityManager): Promise<ScenarioRecord[]> {
  const rows = await em.execute<ScenarioRow[]>(
    'select s.* from scenarios s where s.deleted_at is null order by s.created_at, s.id',
  );
  return rows.map(scenarioRecord);
}

/** What a scenario's row is written from. */
export type ScenarioFields = Omit<ScenarioRecord, 'id'>;

const scenarioRows = rowWriter<ScenarioFields>('scenarios', {
  name: 'name',
  fallbackGroupId: 'fallback_group_id',
  createdAt: 'created_at',
  deletedAt: 'deleted_at',
});

/** Inserts a scenario; answers with its id. */
export function insertScenario(em: EntityManager, fields: Omit<ScenarioFields, 'deletedAt'>): Promise<string> {
  return scenarioRows.insert(em, fields);
}

export const updateScenario = scenarioRows.update;

/** Scenarios falling back to the group `groupId` no longer do (it is being deleted). */
export async function clearFallbackGroup(em: EntityManager, groupId: string): Promise<void> {
  await em.execute('update scenarios set fallback_group_id = null where fallback_group_id = ?', [groupId]);
}
