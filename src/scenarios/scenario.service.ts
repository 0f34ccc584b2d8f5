import type { EntityManager } from '@mikro-orm/postgresql';
import { requireGroups } from '../groups/membership.js';
import type { Clock } from '../shared/clock.js';
import { NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { isId, requiredName } from '../shared/validate.js';
import { insertScenario, listScenarios, readLiveScenario, updateScenario, type ScenarioRecord } from './scenario-record.js';

/** Bot scenarios and their fallback groups. */
export class ScenarioService {
  constructor(private readonly clock: Clock) {}

  list(em: EntityManager): Promise<ScenarioRecord[]> {
    return listScenarios(em);
  }

  async find(em: EntityManager, id: string): Promise<ScenarioRecord | null> {
    return isId(id) ? readLiveScenario(em, id) : null;
  }

  async require(em: EntityManager, id: string, field = 'id', lock = false): Promise<ScenarioRecord> {
    const scenario = isId(id) ? await readLiveScenario(em, id, lock) : null;
    if (!scenario) throw new NotFoundError('Scenario', id, field);
    return scenario;
  }

  async create(em: EntityManager, name: string, fallbackGroupId?: string | null): Promise<ScenarioRecord> {
    const validName = requiredName('name', name);
    const scenarioId = await inTransaction(em, async (tx) => {
      const [group] = fallbackGroupId == null ? [] : await requireGroups(tx, [fallbackGroupId], 'fallbackGroupId');
      return insertScenario(tx, { name: validName, fallbackGroupId: group?.id ?? null, createdAt: this.clock.now() });
    });
    return this.require(em, scenarioId);
  }

  /** `fallbackGroupId`: undefined keeps it, null clears it. */
  async update(
    em: EntityManager,
    id: string,
    changes: { name?: string | null; fallbackGroupId?: string | null },
  ): Promise<ScenarioRecord> {
    const name = changes.name == null ? undefined : requiredName('name', changes.name);
    await inTransaction(em, async (tx) => {
      const scenario = await this.require(tx, id, 'id', true);
      const [group] =
        changes.fallbackGroupId == null ? [] : await requireGroups(tx, [changes.fallbackGroupId], 'fallbackGroupId');
      const fallbackGroupId = changes.fallbackGroupId === undefined ? undefined : (group?.id ?? null);
      await updateScenario(tx, scenario.id, { name, fallbackGroupId });
    });
    return this.require(em, id);
  }

  /**
   * Soft delete: the scenario leaves the catalog and new dialogs cannot name it, while the
   * dialogs started from it keep it (their `scenario` still resolves, with `deletedAt` set).
   */
  async delete(em: EntityManager, id: string): Promise<string> {
    return inTransaction(em, async (tx) => {
      const scenario = await this.require(tx, id, 'id', true);
      await updateScenario(tx, scenario.id, { deletedAt: this.clock.now() });
      return scenario.id;
    });
  }
}
