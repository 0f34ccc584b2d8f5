import type { EntityManager } from '@mikro-orm/postgresql';
import { endSessions, type SessionSelection } from '../auth/sessions.js';
import { isStaff, type Viewer } from '../auth/viewer.js';
import type { EventSink } from '../events/domain-event.js';
import type { Router } from '../routing/router.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { isId } from '../shared/validate.js';
import { OperatorStatus } from './operator-status.js';
import { readOperators, requireOperator, updateOperator, type OperatorRecord } from './operator-record.js';

const MAX_OFFLINE_ROUNDS = 20;
export const MAX_AWAY_REASON = 200;

export interface PresenceOptions {
  /** An ONLINE or AWAY operator with no open WebSocket for this long is logged out; 0 = off. */
  readonly graceSec: number;
}

/**
 * Who is present, and what follows from it: ONLINE (receives dialogs), AWAY (keeps and works
 * the dialogs held, receives none), OFFLINE (holds none). Every way of going offline — by
 * hand, the last session's logout or expiry, auto-logout, the grace logout, deletion — goes
 * through lockForOffline and goOffline here, and so re-routes the operator's dialogs; coming
 * ONLINE (or more capacity) drains the Help queue to them.
 */
export class PresenceService {
  constructor(
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly router: Router,
    private readonly options: PresenceOptions,
  ) {}

  /**
   * Sets ONLINE, AWAY (with an optional reason, shown while AWAY) or OFFLINE. Without
   * `operatorId` it is the caller's own operator; another's needs ADMIN or SUPERVISOR.
   */
  async setStatus(
    em: EntityManager,
    viewer: Viewer,
    status: OperatorStatus,
    operatorId?: string | null,
    reason?: string | null,
  ): Promise<OperatorRecord> {
    const targetId = operatorId ?? viewer.operatorId;
    if (targetId == null) {
      throw new BadInputError('operatorId', 'operatorId is required: the caller has no operator profile');
    }
    if (!isStaff(viewer) && targetId !== viewer.operatorId) {
      throw new ForbiddenError("Only ADMIN or SUPERVISOR may set another operator's status");
    }
    const awayReason = status === OperatorStatus.AWAY ? awayReasonOf(reason) : null;
    await inTransaction(em, async (tx) => {
      if (status === OperatorStatus.OFFLINE) {
        const operator = await this.lockForOffline(tx, targetId, 'operatorId');
        if (operator.status !== OperatorStatus.OFFLINE) await this.goOffline(tx, operator);
        return;
      }
      const operator = await requireOperator(tx, targetId, 'operatorId', true);
      if (operator.status === status && operator.awayReason === awayReason) return;
      const now = this.clock.now();
      await updateOperator(tx, operator.id, {
        presenceSeenAt: operator.status === OperatorStatus.OFFLINE ? now : undefined,
        status,
        awayReason,
        // A status the operator sets is activity (auto-logout counts AWAY as logged in).
        lastActivityAt: now,
      });
      await this.announce(tx, operator.id);
      if (status === OperatorStatus.ONLINE) await this.router.drain(tx, operator.id);
    });
    // Read once committed: draining and re-routing change the load by SQL.
    const [operator] = await readOperators(em, [targetId]);
    if (!operator) throw new NotFoundError('Operator', targetId, 'operatorId');
    return operator;
  }

  /** The operator may take more dialogs (capacity raised, joined groups): drains if ONLINE. */
  async capacityAvailable(tx: EntityManager, operatorId: string): Promise<void> {
    await this.router.drain(tx, operatorId);
  }

  /**
   * Ends the caller's session. An operator whose last live session this was is logged out
   * (OFFLINE, their dialogs move on); one with another session stays as they are. False when
   * the caller holds no session (API or admin token).
   */
  async logout(em: EntityManager, viewer: Viewer): Promise<boolean> {
    const { tokenId, userId } = viewer;
    if (tokenId === null || userId === null) return false;
    return (await this.endSessionsOf(em, userId, () => ({ only: [tokenId] }))) > 0;
  }

  /**
   * Ends the user's sessions past their expiry and, when that was the last live one, logs
   * their operator out, in one transaction: a failure leaves both to the next sweep. Returns
   * how many sessions ended.
   */
  async endExpiredSessions(em: EntityManager, userId: string): Promise<number> {
    return this.endSessionsOf(em, userId, (now) => ({ expiredBy: now }));
  }

  /** Ends the user's sessions `which` chooses, through endingSessions, in a transaction of its own; how many ended. */
  private endSessionsOf(em: EntityManager, userId: string, which: (now: Date) => SessionSelection): Promise<number> {
    return inTransaction(em, (tx) =>
      this.endingSessions(tx, userId, async (now) => (await endSessions(tx, this.events, userId, now, which(now))).length),
    );
  }

  /**
   * Every way a user's sessions end — a logout, expiry, a new password — goes through here:
   * `end` ends some of them in `tx` (answering how many) and, when the user's operator holds no
   * live session after it, the operator is logged out (OFFLINE, their dialogs move on), as by
   * their last session's logout. Call it before taking any other lock: the operator's dialogs,
   * then the operator, are locked first, the order every way offline locks in.
   */
  async endingSessions(tx: EntityManager, userId: string, end: (now: Date) => Promise<number>): Promise<number> {
    const [own] = await tx.execute<Array<{ id: string }>>(`select id from operators where user_id = ? and deleted_at is null`, [
      userId,
    ]);
    // Locked whatever its status: it may come ONLINE while the sessions end.
    const operator = own ? await this.lockForOffline(tx, own.id) : null;
    const now = this.clock.now();
    const ended = await end(now);
    if (ended > 0 && operator !== null) await this.offlineWithoutSessions(tx, operator, now);
    return ended;
  }

  /**
   * Operators ONLINE or AWAY with auto-logout whose last activity is older than their limit at
   * `now`. A hint for autoLogout, which re-checks under the lock.
   */
  async dueForAutoLogout(em: EntityManager, now: Date, limit = 100): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `select id from operators
        where status <> 'OFFLINE' and deleted_at is null and auto_logout_sec > 0
          and coalesce(last_activity_at, created_at) + auto_logout_sec * interval '1 second' <= ?
        order by last_activity_at nulls first limit ?`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Logs an inactive operator out: OFFLINE (their dialogs move on), sessions revoked (their
   * sockets close). Re-checked under the row lock, so a reply racing the sweep wins, and a
   * second process sweeping finds nothing left to do.
   */
  async autoLogout(em: EntityManager, operatorId: string): Promise<boolean> {
    return inTransaction(em, async (tx) => {
      const now = this.clock.now();
      const operator = await this.lockForOffline(tx, operatorId);
      const lastActive = (operator.lastActivityAt ?? operator.createdAt).getTime();
      const idle = operator.status !== OperatorStatus.OFFLINE && operator.autoLogoutSec > 0;
      if (!idle || lastActive + operator.autoLogoutSec * 1000 > now.getTime()) return false;
      await this.goOffline(tx, operator);
      await endSessions(tx, this.events, operator.userId, now);
      return true;
    });
  }

  /**
   * PRESENCE_GRACE_SEC: marks the operators with an open WebSocket on this process as present
   * now, then logs out (OFFLINE, dialogs routed on; sessions kept) every ONLINE or AWAY
   * operator present nowhere for the grace. Every process marks its own sockets each sweep, so
   * a reconnect to any instance within the grace keeps everything. Returns how many went.
   */
  async sweepGrace(em: EntityManager, connectedOperatorIds: readonly string[], limit = 100): Promise<number> {
    const graceSec = this.options.graceSec;
    if (graceSec === 0) return 0;
    const now = this.clock.now();
    if (connectedOperatorIds.length > 0) {
      // Rows a routing decision holds are marked at the next sweep instead of waited for.
      await em.execute(
        `update operators set presence_seen_at = ?
          where id in (select id from operators where id = any(?::uuid[]) and status <> 'OFFLINE'
                        order by id for no key update skip locked)`,
        [now, `{${[...new Set(connectedOperatorIds)].join(',')}}`],
      );
    }
    const due = await em.execute<Array<{ id: string }>>(
      `select id from operators
        where status <> 'OFFLINE' and deleted_at is null
          and coalesce(presence_seen_at, created_at) + ? * interval '1 second' <= ?
        order by presence_seen_at nulls first, id limit ?`,
      [graceSec, now, limit],
    );
    let loggedOut = 0;
    for (const { id } of due) {
      const done = await inTransaction(em.fork(), async (tx) => {
        const operator = await this.lockForOffline(tx, id);
        const seen = (operator.presenceSeenAt ?? operator.createdAt).getTime();
        if (operator.status === OperatorStatus.OFFLINE || seen + graceSec * 1000 > this.clock.now().getTime()) return false;
        await this.goOffline(tx, operator);
        return true;
      });
      if (done) loggedOut++;
    }
    return loggedOut;
  }

  /** Deletion: takes the operator offline (their dialogs move on) and returns them, locked. */
  async removing(tx: EntityManager, operatorId: string): Promise<OperatorRecord> {
    const operator = await this.lockForOffline(tx, operatorId);
    if (operator.status !== OperatorStatus.OFFLINE) await this.goOffline(tx, operator);
    return operator;
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
  async lockForOffline(tx: EntityManager, operatorId: string, field = 'id'): Promise<OperatorRecord> {
    if (!isId(operatorId)) throw new NotFoundError('Operator', operatorId, field);
    const assigned = `select id from dialogs where operator_id = ? and status = 'ASSIGNED'`;
    // Before any row lock: two offline changes of one operator (a logout racing an auto-logout,
    // status flips) take turns instead of each locking part of the same dialogs.
    await tx.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`operator-offline:${operatorId}`]);
    for (let round = 1; ; round++) {
      await tx.execute('savepoint lock_for_offline');
      const rows = await tx.execute<Array<{ id: string }>>(`${assigned} order by id for no key update`, [operatorId]);
      const locked = rows.map((d) => d.id);
      const operator = await requireOperator(tx, operatorId, field, true);
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

  /** OFFLINE when the user holds no live session any more; true when it logged them out. */
  private async offlineWithoutSessions(tx: EntityManager, operator: OperatorRecord, now: Date): Promise<boolean> {
    if (operator.status === OperatorStatus.OFFLINE) return false;
    const [live] = await tx.execute<unknown[]>(
      `select 1 from auth_tokens
        where user_id = ? and kind = 'SESSION' and revoked_at is null and expires_at > ? limit 1`,
      [operator.userId, now],
    );
    if (live) return false;
    await this.goOffline(tx, operator);
    return true;
  }

  /** Marks a locked operator OFFLINE and routes the dialogs they held on. */
  private async goOffline(tx: EntityManager, operator: OperatorRecord): Promise<void> {
    await updateOperator(tx, operator.id, { status: OperatorStatus.OFFLINE, awayReason: null });
    await this.announce(tx, operator.id);
    await this.router.rerouteAll(tx, operator.id);
  }

  /** The operator's status changed: their groups' dashboards hear of it. */
  private async announce(tx: EntityManager, operatorId: string): Promise<void> {
    const groups = await tx.execute<Array<{ group_id: string }>>('select group_id from group_members where operator_id = ?', [
      operatorId,
    ]);
    await this.events.publish(tx, { kind: 'operator', operatorId, groupIds: groups.map((g) => g.group_id) });
  }
}

/** The reason kept while AWAY: trimmed, at most MAX_AWAY_REASON characters; blank = none. */
function awayReasonOf(reason: string | null | undefined): string | null {
  if (reason == null) return null;
  const trimmed = reason.trim();
  if (trimmed.length > MAX_AWAY_REASON) {
    throw new BadInputError('reason', `reason must be at most ${MAX_AWAY_REASON} characters`);
  }
  return trimmed.length ? trimmed : null;
}
