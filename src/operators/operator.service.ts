import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import { addMemberships, removeMemberships, requireGroups } from '../groups/membership.js';
import type { Clock } from '../shared/clock.js';
import { ConflictError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { intInRange, isId, validateAll } from '../shared/validate.js';
import { assertEmailFree, insertUser, validateAccount, withEmailConflict } from '../users/accounts.js';
import { readLiveUser, updateUser } from '../users/user-record.js';
import type { CreateOperatorInput, UpdateOperatorInput } from './operator.inputs.js';
import { OperatorStatus } from './operator-status.js';
import * as validate from '../shared/validate.js';
import { endSessions } from '../auth/sessions.js';
import type { EventSink } from '../events/domain-event.js';
import type { PresenceService } from './presence.service.js';
import {
  insertOperator,
  listOperators,
  readLiveOperators,
  requireOperator,
  updateOperator,
  type OperatorRecord,
} from './operator-record.js';

export const MAX_DIALOGS_RANGE = [1, 10000] as const;
export const AUTO_LOGOUT_RANGE = [0, 604800] as const;

export interface OperatorFilter {
  readonly groupId?: string | null;
  readonly status?: OperatorStatus | null;
}

/** Operators: profiles and group membership from the operator side (status: PresenceService). */
export class OperatorService {
  constructor(
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly presence: PresenceService,
  ) {}

  async isMember(em: EntityManager, operatorId: string, groupId: string): Promise<boolean> {
    if (!isId(operatorId) || !isId(groupId)) return false;
    const rows = await em.execute<unknown[]>('select 1 from group_members where operator_id = ? and group_id = ?', [
      operatorId,
      groupId,
    ]);
    return rows.length > 0;
  }

  async list(em: EntityManager, filter: OperatorFilter = {}): Promise<OperatorRecord[]> {
    const { groupId, status } = filter;
    if (groupId != null && !isId(groupId)) return [];
    return listOperators(em, { groupId, status });
  }

  async find(em: EntityManager, id: string): Promise<OperatorRecord | null> {
    if (!isId(id)) return null;
    const [operator] = await readLiveOperators(em, [id]);
    return operator ?? null;
  }

  /** Creates the operator together with its user account (role OPERATOR). */
  async create(em: EntityManager, input: CreateOperatorInput): Promise<OperatorRecord> {
    const [account, maxDialogs, autoLogoutSec] = validateAll(
      () => validateAccount(input),
      () => (input.maxDialogs == null ? undefined : intInRange('maxDialogs', input.maxDialogs, ...MAX_DIALOGS_RANGE)),
      () => (input.autoLogoutSec == null ? undefined : intInRange('autoLogoutSec', input.autoLogoutSec, ...AUTO_LOGOUT_RANGE)),
    );
    const id = await withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const groups = await requireGroups(tx, input.groupIds ?? [], 'groupIds');
        const now = this.clock.now();
        const userId = await insertUser(tx, account, Role.OPERATOR, now);
        const operatorId = await this.insertProfile(tx, userId, now, { maxDialogs, autoLogoutSec });
        await addMemberships(
          tx,
          groups.map((g) => ({ groupId: g.id, operatorId })),
          now,
        );
        return operatorId;
      }),
    );
    return requireOperator(em, id);
  }

  /** The operator profile of a freshly inserted user (inside the caller's transaction); answers with its id. */
  insertProfile(
    tx: EntityManager,
    userId: string,
    at: Date,
    limits: { maxDialogs?: number; autoLogoutSec?: number } = {},
  ): Promise<string> {
    return insertOperator(tx, { userId, createdAt: at, ...limits });
  }

  async update(em: EntityManager, id: string, input: UpdateOperatorInput): Promise<OperatorRecord> {
    const [firstName, lastName, email, maxDialogs, autoLogoutSec] = validateAll(
      () => (input.firstName == null ? undefined : validate.requiredName('firstName', input.firstName)),
      () => (input.lastName == null ? undefined : validate.requiredName('lastName', input.lastName)),
      () => (input.email == null ? undefined : validate.email('email', input.email)),
      () => (input.maxDialogs == null ? undefined : intInRange('maxDialogs', input.maxDialogs, ...MAX_DIALOGS_RANGE)),
      () => (input.autoLogoutSec == null ? undefined : intInRange('autoLogoutSec', input.autoLogoutSec, ...AUTO_LOGOUT_RANGE)),
    );

    await withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const operator = await requireOperator(tx, id, 'id', true);
        const user = await readLiveUser(tx, operator.userId);
        if (!user) throw new Error(`operator ${operator.id} has no live user`);
        const newEmail = email !== undefined && email !== user.email ? email : undefined;
        if (newEmail !== undefined) await assertEmailFree(tx, newEmail, user.id);
        await updateUser(tx, user.id, { email: newEmail, firstName, lastName });

        let moreCapacity = false;
        if (maxDialogs !== undefined) {
          if (maxDialogs < operator.activeDialogCount) {
            throw new ConflictError(
              'maxDialogs',
              `The operator holds ${operator.activeDialogCount} active dialogs; close or transfer some first`,
            );
          }
          moreCapacity = maxDialogs > operator.maxDialogs;
        }
        if (input.groupIds != null) {
          const groups = await requireGroups(tx, input.groupIds, 'groupIds');
          await removeMemberships(tx, { operatorId: operator.id });
          await addMemberships(
            tx,
            groups.map((g) => ({ groupId: g.id, operatorId: operator.id })),
            this.clock.now(),
          );
          moreCapacity ||= groups.length > 0;
        }
        await updateOperator(tx, operator.id, { maxDialogs, autoLogoutSec });
        if (moreCapacity && operator.status === OperatorStatus.ONLINE) {
          await this.presence.capacityAvailable(tx, operator.id);
        }
      }),
    );
    // Read once committed: draining changes the load by SQL after the row above was read.
    return requireOperator(em, id);
  }

  /** Soft-deletes the operator and its account; its dialogs keep pointing at it. */
  async delete(em: EntityManager, id: string): Promise<string> {
    return inTransaction(em, async (tx) => {
      const operator = await this.presence.removing(tx, id);
      const now = this.clock.now();
      await updateOperator(tx, operator.id, { deletedAt: now });
      await updateUser(tx, operator.userId, { deletedAt: now });
      await removeMemberships(tx, { operatorId: operator.id });
      await endSessions(tx, this.events, operator.userId, now);
      return id;
    });
  }
}
