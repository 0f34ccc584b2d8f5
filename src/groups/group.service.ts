import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { isUniqueViolation } from '../shared/db-errors.js';
import { intInRange, isId, requiredName, validateAll } from '../shared/validate.js';
import { insertGroup, listGroups, readLiveGroups, updateGroup, type GroupFields, type GroupRecord } from './group-record.js';
import type { CreateGroupInput, UpdateGroupInput } from './group.inputs.js';
import { addMemberships, removeMemberships, requireOperators } from './membership.js';
import { clearFallbackGroup } from '../scenarios/scenario-record.js';
import { inTransaction } from '../shared/transaction.js';

export const SL_MIN_SEC = 1;
export const SL_MAX_SEC = 86400;
export const REASSIGN_AFTER_RANGE = [0, 86400] as const;
export const MAX_QUEUED_RANGE = [0, 100_000] as const;
export const PREFER_LAST_OPERATOR_RANGE = [0, 2_592_000] as const;

/** The routing settings of a group's input, validated; undefined = not given. */
function routingSettings(input: CreateGroupInput | UpdateGroupInput): {
  reassignAfterSec?: number;
  maxQueued?: number;
  preferLastOperatorSec?: number;
} {
  return {
    ...(input.reassignAfterSec == null
      ? {}
      : { reassignAfterSec: intInRange('reassignAfterSec', input.reassignAfterSec, ...REASSIGN_AFTER_RANGE) }),
    ...(input.maxQueued == null ? {} : { maxQueued: intInRange('maxQueued', input.maxQueued, ...MAX_QUEUED_RANGE) }),
    ...(input.preferLastOperatorSec == null
      ? {}
      : {
          preferLastOperatorSec: intInRange('preferLastOperatorSec', input.preferLastOperatorSec, ...PREFER_LAST_OPERATOR_RANGE),
        }),
  };
}

/** Hooks other features attach to group changes (routing drains queues on new capacity). */
export interface GroupHooks {
  /** Inside the transaction, after operators joined a group. */
  membersAdded?(em: EntityManager, groupId: string, operatorIds: readonly string[]): Promise<void>;
  /** Inside the transaction, after a group was deleted. */
  groupDeleted?(em: EntityManager, groupId: string): Promise<void>;
}

/** Operator groups: CRUD and membership from the group side. One transaction per change. */
export class GroupService {
  constructor(
    private readonly clock: Clock,
    private readonly hooks: GroupHooks = {},
  ) {}

  list(em: EntityManager): Promise<GroupRecord[]> {
    return listGroups(em);
  }

  async find(em: EntityManager, id: string): Promise<GroupRecord | null> {
    if (!isId(id)) return null;
    const [group] = await readLiveGroups(em, [id]);
    return group ?? null;
  }

  async require(em: EntityManager, id: string, field = 'id'): Promise<GroupRecord> {
    const group = await this.find(em, id);
    if (!group) throw new NotFoundError('Group', id, field);
    return group;
  }

  async create(em: EntityManager, input: CreateGroupInput): Promise<GroupRecord> {
    const [name, slFirstResponseSec, slNextResponseSec] = validateAll(
      () => requiredName('name', input.name),
      () => intInRange('slFirstResponseSec', input.slFirstResponseSec, SL_MIN_SEC, SL_MAX_SEC),
      () => intInRange('slNextResponseSec', input.slNextResponseSec, SL_MIN_SEC, SL_MAX_SEC),
    );
    const settings = routingSettings(input);
    const id = await this.withNameConflict(() =>
      inTransaction(em, async (tx) => {
        await this.assertNameFree(tx, name);
        const operators = await requireOperators(tx, input.operatorIds ?? [], 'operatorIds');
        const now = this.clock.now();
        const groupId = await insertGroup(tx, { name, slFirstResponseSec, slNextResponseSec, createdAt: now, ...settings });
        await addMemberships(
          tx,
          operators.map((o) => ({ groupId, operatorId: o.id })),
          now,
        );
        if (operators.length)
          await this.hooks.membersAdded?.(
            tx,
            groupId,
            operators.map((o) => o.id),
          );
        return groupId;
      }),
    );
    return this.require(em, id);
  }

  async update(em: EntityManager, id: string, input: UpdateGroupInput): Promise<GroupRecord> {
    const [name, first, next] = validateAll(
      () => (input.name == null ? undefined : requiredName('name', input.name)),
      () =>
        input.slFirstResponseSec == null
          ? undefined
          : intInRange('slFirstResponseSec', input.slFirstResponseSec, SL_MIN_SEC, SL_MAX_SEC),
      () =>
        input.slNextResponseSec == null
          ? undefined
          : intInRange('slNextResponseSec', input.slNextResponseSec, SL_MIN_SEC, SL_MAX_SEC),
    );
    const settings = routingSettings(input);
    await this.withNameConflict(() =>
      inTransaction(em, async (tx) => {
        const group = await this.require(tx, id);
        if (name !== undefined && name.toLowerCase() !== group.name.toLowerCase()) {
          await this.assertNameFree(tx, name);
        }
        const written: Partial<GroupFields> = { ...settings, name, slFirstResponseSec: first, slNextResponseSec: next };
        await updateGroup(tx, group.id, written);
      }),
    );
    return this.require(em, id);
  }

  /** Soft-deletes the group: operators are unlinked (and kept), scenarios lose it as fallback. */
  async delete(em: EntityManager, id: string): Promise<string> {
    return inTransaction(em, async (tx) => {
      const group = await this.require(tx, id);
      await updateGroup(tx, group.id, { deletedAt: this.clock.now() });
      await removeMemberships(tx, { groupId: id });
      await clearFallbackGroup(tx, id);
      await this.hooks.groupDeleted?.(tx, id);
      return id;
    });
  }

  async addOperators(em: EntityManager, groupId: string, operatorIds: readonly string[]): Promise<GroupRecord> {
    await inTransaction(em, async (tx) => {
      await this.require(tx, groupId, 'groupId');
      const operators = await requireOperators(tx, operatorIds, 'operatorIds');
      await addMemberships(
        tx,
        operators.map((o) => ({ groupId, operatorId: o.id })),
        this.clock.now(),
      );
      if (operators.length)
        await this.hooks.membersAdded?.(
          tx,
          groupId,
          operators.map((o) => o.id),
        );
    });
    return this.require(em, groupId, 'groupId');
  }

  async removeOperators(em: EntityManager, groupId: string, operatorIds: readonly string[]): Promise<GroupRecord> {
    await inTransaction(em, async (tx) => {
      await this.require(tx, groupId, 'groupId');
      const operators = await requireOperators(tx, operatorIds, 'operatorIds');
      await removeMemberships(tx, { groupId, operatorIds: operators.map((o) => o.id) });
    });
    return this.require(em, groupId, 'groupId');
  }

  private async assertNameFree(em: EntityManager, name: string): Promise<void> {
    const taken = await em.execute<unknown[]>('select 1 from groups where lower(name) = lower(?) and deleted_at is null', [name]);
    if (taken.length) throw new ConflictError('name', `A group named "${name}" already exists`);
  }

  /** A concurrent create can still win the race; the unique index turns it into CONFLICT. */
  private async withNameConflict<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isUniqueViolation(error, 'groups_name_live_unique')) {
        throw new ConflictError('name', 'A group with this name already exists');
      }
      throw error;
    }
  }
}
