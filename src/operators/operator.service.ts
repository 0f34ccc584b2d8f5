import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../auth/role.js';
import { isStaff, type Viewer } from '../auth/viewer.js';
import { addMemberships, removeMemberships, requireGroups } from '../groups/membership.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors.js';
import { lockOperators } from '../shared/operator-locks.js';
import { inTransaction } from '../shared/transaction.js';
import { intInRange, isId, validateAll } from '../shared/validate.js';
import { assertEmailFree, insertUser, validateAccount, withEmailConflict } from '../users/accounts.js';
import { User } from '../users/user.entity.js';
import { Operator } from './operator.entity.js';
import type { CreateOperatorInput, UpdateOperatorInput } from './operator.inputs.js';
import { OperatorStatus } from './operator-status.js';
import * as validate from '../shared/validate.js';
import { endSessions } from '../auth/sessions.js';
import type { EventSink } from '../realtime/events.js';

export const MAX_DIALOGS_RANGE = [1, 10000] as const;
export const AUTO_LOGOUT_RANGE = [0, 604800] as const;
const MAX_OFFLINE_ROUNDS = 20;

/**
 * What other features do when an operator changes, inside the same transaction.
 * Routing drains the Help queue on new capacity and re-routes the dialogs of whoever leaves.
 */
export interface OperatorHooks {
  /** The operator may take more dialogs: came online, capacity raised, joined groups. */
  capacityAvailable?(em: EntityManager, operatorId: string): Promise<void>;
  /** The operator went offline (by hand, auto-logout or deletion); row is locked. */
  wentOffline?(em: EntityManager, operatorId: string): Promise<void>;
  /** The operator's status changed (after the row update). */
  statusChanged?(em: EntityManager, operator: Operator): Promise<void>;
}

export interface OperatorFilter {
  readonly groupId?: string | null;
  readonly status?: OperatorStatus | null;
}

async function memberIds(em: EntityManager, groupId: string): Promise<string[]> {
  const rows = await em.execute<Array<{ operator_id: string }>>('select operator_id from group_members where group_id = ?', [
    groupId,
  ]);
  return rows.map((r) => r.operator_id);
}

/** Operators: profiles, group membership from the operator side, and status. */
export class OperatorService {
  constructor(
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly hooks: OperatorHooks = {},
  ) {}

  async isMember(em: EntityManager, operatorId: string, groupId: string): Promise<boolean> {
    if (!isId(operatorId) || !isId(groupId)) return false;
    const rows = await em.execute<unknown[]>('select 1 from group_members where operator_id = ? and group_id = ?', [
      operatorId,
      groupId,
    ]);
    return rows.length > 0;
  }

  async list(em: EntityManager, filter: OperatorFilter = {}): Promise<Operator[]> {
    const { groupId, status } = filter;
    if (groupId != null && !isId(groupId)) return [];
    return em.find(
      Operator,
      {
        deletedAt: null,
        ...(status ? { status } : {}),
        ...(groupId != null ? { id: { $in: await memberIds(em, groupId) } } : {}),
      },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
  }

  async find(em: EntityManager, id: string): Promise<Operator | null> {
    if (!isId(id)) return null;
    return em.findOne(Operator, { id, deletedAt: null });
  }

  /** `lock`: FOR NO KEY UPDATE, the strength of every operator lock (see routing/router.ts). */
  async require(em: EntityManager, id: string, field = 'id', lock = false): Promise<Operator> {
    if (!isId(id)) throw new NotFoundError('Operator', id, field);
    // MikroORM's lock modes stop at FOR UPDATE, which would wait for every foreign-key check.
    if (lock) await lockOperators(em, [id]);
    const operator = await em.findOne(Operator, { id, deletedAt: null }, lock ? { refresh: true } : {});
    if (!operator) throw new NotFoundError('Operator', id, field);
    return operator;
  }

  /** Creates the operator together with its user account (role OPERATOR). */
  async create(em: EntityManager, input: CreateOperatorInput): Promise<Operator> {
    const [account, maxDialogs, autoLogoutSec] = validateAll(
      () => validateAccount(input),
      () => (input.maxDialogs == null ? undefined : intInRange('maxDialogs', input.maxDialogs, ...MAX_DIALOGS_RANGE)),
      () => (input.autoLogoutSec == null ? undefined : intInRange('autoLogoutSec', input.autoLogoutSec, ...AUTO_LOGOUT_RANGE)),
    );
    return withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const groups = await requireGroups(tx, input.groupIds ?? [], 'groupIds');
        const now = this.clock.now();
        const user = await insertUser(tx, account, Role.OPERATOR, now);
        const operator = await this.insertProfile(tx, user, now, { maxDialogs, autoLogoutSec });
        await addMemberships(
          tx,
          groups.map((g) => ({ groupId: g.id, operatorId: operator.id })),
          now,
        );
        return operator;
      }),
    );
  }

  /** The operator profile of a freshly inserted user (inside the caller's transaction). */
  async insertProfile(
    tx: EntityManager,
    user: User,
    at: Date,
    limits: { maxDialogs?: number; autoLogoutSec?: number } = {},
  ): Promise<Operator> {
    const operator = tx.create(Operator, {
      user,
      createdAt: at,
      ...(limits.maxDialogs !== undefined ? { maxDialogs: limits.maxDialogs } : {}),
      ...(limits.autoLogoutSec !== undefined ? { autoLogoutSec: limits.autoLogoutSec } : {}),
    });
    await tx.flush();
    return operator;
  }

  async update(em: EntityManager, id: string, input: UpdateOperatorInput): Promise<Operator> {
    const [firstName, lastName, email, maxDialogs, autoLogoutSec] = validateAll(
      () => (input.firstName == null ? undefined : validate.requiredName('firstName', input.firstName)),
      () => (input.lastName == null ? undefined : validate.requiredName('lastName', input.lastName)),
      () => (input.email == null ? undefined : validate.email('email', input.email)),
      () => (input.maxDialogs == null ? undefined : intInRange('maxDialogs', input.maxDialogs, ...MAX_DIALOGS_RANGE)),
      () => (input.autoLogoutSec == null ? undefined : intInRange('autoLogoutSec', input.autoLogoutSec, ...AUTO_LOGOUT_RANGE)),
    );

    return withEmailConflict(() =>
      inTransaction(em, async (tx) => {
        const operator = await this.require(tx, id, 'id', true);
        const user = await tx.findOneOrFail(User, operator.user.id);
        if (email !== undefined && email !== user.email) {
          await assertEmailFree(tx, email, user.id);
          user.email = email;
        }
        if (firstName !== undefined) user.firstName = firstName;
        if (lastName !== undefined) user.lastName = lastName;
        if (autoLogoutSec !== undefined) operator.autoLogoutSec = autoLogoutSec;

        let moreCapacity = false;
        if (maxDialogs !== undefined) {
          if (maxDialogs < operator.activeDialogCount) {
            throw new ConflictError(
              'maxDialogs',
              `The operator holds ${operator.activeDialogCount} active dialogs; close or transfer some first`,
            );
          }
          moreCapacity = maxDialogs > operator.maxDialogs;
          operator.maxDialogs = maxDialogs;
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
        await tx.flush();
        if (moreCapacity && operator.status === OperatorStatus.ONLINE) {
          await this.hooks.capacityAvailable?.(tx, operator.id);
        }
        return operator;
      }),
    ).then((operator) => this.reload(em, operator.id));
  }

  /**
   * The operator as committed. Draining and re-routing change the load by SQL, behind the
   * entity the transaction held, so a mutation answers from a fresh read.
   */
  private async reload(em: EntityManager, id: string): Promise<Operator> {
    const operator = await em.findOne(Operator, { id }, { refresh: true });
    if (!operator) throw new NotFoundError('Operator', id);
    return operator;
  }

  /** Soft-deletes the operator and its account; its dialogs keep pointing at it. */
  async delete(em: EntityManager, id: string): Promise<string> {
    return inTransaction(em, async (tx) => {
      const operator = await this.lockForOffline(tx, id);
      const now = this.clock.now();
      if (operator.status === OperatorStatus.ONLINE) await this.goOffline(tx, operator);
      operator.deletedAt = now;
      await tx.nativeUpdate(User, { id: operator.user.id }, { deletedAt: now });
      await removeMemberships(tx, { operatorId: operator.id });
      await endSessions(tx, this.events, operator.user.id, now);
      return id;
    });
  }

  /**
   * Sets ONLINE/OFFLINE. Without `operatorId` it is the caller's own operator; another's
   * needs ADMIN or SUPERVISOR.
   */
  async setStatus(em: EntityManager, viewer: Viewer, status: OperatorStatus, operatorId?: string | null): Promise<Operator> {
    const targetId = operatorId ?? viewer.operatorId;
    if (targetId == null) {
      throw new BadInputError('operatorId', 'operatorId is required: the caller has no operator profile');
    }
    if (!isStaff(viewer) && targetId !== viewer.operatorId) {
      throw new ForbiddenError("Only ADMIN or SUPERVISOR may set another operator's status");
    }
    const changed = await inTransaction(em, async (tx) => {
      const operator =
        status === OperatorStatus.OFFLINE
          ? await this.lockForOffline(tx, targetId, 'operatorId')
          : await this.require(tx, targetId, 'operatorId', true);
      if (operator.status === status) return operator;
      if (status === OperatorStatus.ONLINE) {
        operator.status = OperatorStatus.ONLINE;
        operator.lastActivityAt = this.clock.now();
        await tx.flush();
        await this.hooks.statusChanged?.(tx, operator);
        await this.hooks.capacityAvailable?.(tx, operator.id);
      } else {
        await this.goOffline(tx, operator);
      }
      return operator;
    });
    return this.reload(em, changed.id);
  }

  /**
   * Operators ONLINE with auto-logout whose last activity is older than their limit at `now`.
   * Rows other processes are handling are skipped.
   */
  async dueForAutoLogout(em: EntityManager, now: Date, limit = 100): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `select id from operators
        where status = 'ONLINE' and deleted_at is null and auto_logout_sec > 0
          and coalesce(last_activity_at, created_at) + auto_logout_sec * interval '1 second' <= ?
        order by last_activity_at nulls first limit ?`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Logs an inactive operator out: OFFLINE (their dialogs move on), sessions revoked (their
   * sockets close). Re-checked under the row lock, so a reply racing the sweep wins.
   */
  async autoLogout(em: EntityManager, operatorId: string): Promise<boolean> {
    return inTransaction(em, async (tx) => {
      const now = this.clock.now();
      const operator = await this.lockForOffline(tx, operatorId);
      const lastActive = (operator.lastActivityAt ?? operator.createdAt).getTime();
      const idle = operator.status === OperatorStatus.ONLINE && operator.autoLogoutSec > 0;
      if (!idle || lastActive + operator.autoLogoutSec * 1000 > now.getTime()) return false;
      await this.goOffline(tx, operator);
      await endSessions(tx, this.events, operator.user.id, now);
      return true;
    });
  }

  /**
   * Locks an operator who may be about to go offline: their assigned dialogs first (in id
   * order), then the operator row — the order every routing transaction uses (dialog, then
   * operator), so taking an operator offline does not deadlock with closes and transfers of
   * their dialogs. A dialog assigned to them between the two steps may be held by someone
   * waiting for the operator row; rather than wait for it while holding the operator, every lock
   * taken here is given back (rollback to a savepoint) and both steps run again.
   * Call it before taking any other lock.
   */
  async lockForOffline(tx: EntityManager, operatorId: string, field = 'id'): Promise<Operator> {
    if (!isId(operatorId)) throw new NotFoundError('Operator', operatorId, field);
    const assigned = `select id from dialogs where operator_id = ? and status = 'ASSIGNED'`;
    // Before any row lock: two offline changes of one operator (a logout racing an auto-logout,
    // status flips) take turns instead of each locking part of the same dialogs.
    await tx.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`operator-offline:${operatorId}`]);
    for (let round = 1; ; round++) {
      await tx.execute('savepoint lock_for_offline');
      const rows = await tx.execute<Array<{ id: string }>>(`${assigned} order by id for no key update`, [operatorId]);
      const locked = rows.map((d) => d.id);
      const operator = await this.require(tx, operatorId, field, true);
      // Dialogs assigned meanwhile were committed before the operator lock was had: mostly free
      // again, so take them without waiting (waiting here, holding the operator, could deadlock).
      const late = await tx.execute<Array<{ id: string }>>(
        `${assigned}${locked.length ? ' and id not in (?)' : ''} order by id for no key update skip locked`,
        locked.length ? [operatorId, locked] : [operatorId],
      );
      locked.push(...late.map((d) => d.id));
      const [busy] = await tx.execute<unknown[]>(
        `${assigned}${locked.length ? ' and id not in (?)' : ''} limit 1`,
        locked.length ? [operatorId, locked] : [operatorId],
      );
      // Past a few rounds, a busy operator is left to the deadlock detector and a retry.
      if (!busy || round >= MAX_OFFLINE_ROUNDS) {
        await tx.execute('release savepoint lock_for_offline');
        return operator;
      }
      await tx.execute('rollback to savepoint lock_for_offline');
    }
  }

  /** Marks a locked, ONLINE operator OFFLINE and lets routing take their dialogs elsewhere. */
  async goOffline(tx: EntityManager, operator: Operator): Promise<void> {
    operator.status = OperatorStatus.OFFLINE;
    await tx.flush();
    await this.hooks.statusChanged?.(tx, operator);
    await this.hooks.wentOffline?.(tx, operator.id);
  }
}
