import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { DialogStatus, TransferOutcome } from '../dialogs/dialog-enums.js';
import type { DialogRow } from '../dialogs/dialog-record.js';
import { DialogEventType, QueueEventType } from '../dialogs/dialog-event-types.js';
import type { EventSink } from '../events/domain-event.js';
import type { Clock } from '../shared/clock.js';
import { holdOperators, lockOperators, NO_OPERATOR, operatorWaitFloor } from '../shared/operator-locks.js';
import { pgDate } from '../shared/pg-time.js';
import type { SqlFragment } from '../shared/sql.js';
import { afterCommit, executeAtCommit, type AtCommit } from '../shared/transaction.js';
import { SlClock, type ClockState } from '../sl/sl-clock.js';
import { SlKind } from '../sl/sl-kind.js';
import {
  AVAILABLE,
  HELD_ORDER,
  LEAST_LOADED,
  QUEUE_ORDER,
  whyGroupSkipped,
  whyOperatorSkipped,
  type Candidate,
} from './rules.js';
import { RoutingCause, SkipReason } from './transfer-enums.js';

/*
 * Lock order and strength, for every transaction in every process (and never the reverse):
 *
 *   1. The idempotency key (a repeated key waits for the first call to finish).
 *   2. Dialog rows: several in id order, or SKIP LOCKED (drains, sweeps), which never waits.
 *   3. Operator rows, waited for only in id order: a transaction waits for an operator row only
 *      if its id is above every operator row it already holds (shared/operator-locks.ts).
 *      Hence the operators a decision knows up front — the one giving the dialog up and the one
 *      asked for — are locked together, in id order, before any pick. A pick takes a free
 *      operator without waiting (SKIP LOCKED), and waits for a busy one only above those held;
 *      below them it goes on down the chain. A plain `update operators` takes the same lock,
 *      so it is made only on a row already held or as the transaction's first operator lock.
 *      A drain locks its operator, then its dialogs SKIP LOCKED, so it never waits for those.
 *   4. The queue-limit lock (an advisory lock, only for a hand-off from the bot that would
 *      queue while a limit is set), then other rows of the change (memberships, users,
 *      sessions), then the event topics at commit, in topic order (realtime/event-bus.ts).
 *
 * Strength: FOR NO KEY UPDATE, never FOR UPDATE. No transaction changes a key column of a
 * dialog or an operator, and inserting a message, an SL record or a transfer that refers to an
 * operator takes FOR KEY SHARE on the operator's row (the foreign-key check). FOR NO KEY UPDATE
 * does not wait for that share lock; FOR UPDATE does, so a reply holding the share lock and
 * waiting to update the operator would deadlock with a drain waiting for FOR UPDATE.
 *
 * Going offline (logout, auto-logout, grace logout, deletion, status OFFLINE) locks the
 * operator's assigned dialogs in id order, then the operator, then routes each dialog on. A
 * dialog assigned to the operator between those steps may be held by someone waiting for the
 * operator: the locks are given back and taken again (PresenceService.lockForOffline). Only past a few such rounds is
 * a cycle left to Postgres' deadlock detector and the retry in shared/transaction.ts.
 */

/** A dialog row locked (FOR NO KEY UPDATE) by the current transaction. */
export interface LockedDialog extends ClockState {
  readonly status: DialogStatus;
  readonly scenario_id: string | null;
  readonly external_id: string | null;
  readonly handed_over_at: Date | null;
  readonly assigned_at: Date | null;
}

/** Server-wide routing settings. */
export interface RouterOptions {
  /** At most this many dialogs wait in Help after a hand-off from the bot; 0 = no limit. */
  readonly helpQueueMax: number;
}

export interface RouteRequest {
  readonly cause: RoutingCause;
  readonly groupId: string | null;
  readonly operatorId: string | null;
  /** The operator handing the dialog on: never picked by this decision. */
  readonly excludeOperatorId: string | null;
  /** Free text kept with the decision (e.g. the bot's failure reason). */
  readonly note?: string | null;
}

export interface Decision {
  readonly outcome: TransferOutcome;
  readonly operatorId: string | null;
  readonly groupId: string | null;
  /** Every target skipped, in the order the chain met them. */
  readonly reasons: readonly SkipReason[];
}

/** A committed decision, as metrics see it. */
export interface DecisionRecord {
  readonly kind: RoutingCause;
  readonly outcome: TransferOutcome;
  /** The first reason the decision records (why the first choice was skipped); null when none. */
  readonly reason: SkipReason | null;
  /** From the start of the decision until it is made (its writes go out with the COMMIT). */
  readonly seconds: number;
}

/** A decision and the dialog row it leaves behind, read once the transaction has committed. */
export interface Routed extends Decision {
  readonly written: AtCommit<DialogRow>;
}

interface CandidateRow {
  id: string;
  status: string;
  active_dialog_count: number;
  max_dialogs: number;
}

/** The columns a routing decision reads from the dialog row it locks. */
const LOCKED_COLUMNS = `id, status, scenario_id, external_id, group_id, operator_id, handed_over_at, assigned_at, sl_kind,
       sl_started_at, sl_deadline, sl_group_id, last_operator_reply_at`;

type LockedRow = Readonly<Record<string, string | null>>;

function lockedDialog(row: LockedRow): LockedDialog {
  return {
    id: row['id']!,
    status: row['status'] as DialogStatus,
    scenario_id: row['scenario_id'] ?? null,
    external_id: row['external_id'] ?? null,
    group_id: row['group_id'] ?? null,
    operator_id: row['operator_id'] ?? null,
    handed_over_at: pgDate(row['handed_over_at']),
    assigned_at: pgDate(row['assigned_at']),
    sl_kind: (row['sl_kind'] as SlKind | null) ?? null,
    sl_started_at: pgDate(row['sl_started_at']),
    sl_deadline: pgDate(row['sl_deadline']),
    sl_group_id: row['sl_group_id'] ?? null,
    last_operator_reply_at: pgDate(row['last_operator_reply_at']),
  };
}

/** The group and operator a transfer names (valid ids or null). */
export interface TransferTargets {
  readonly groupId: string | null;
  readonly operatorId: string | null;
}

/** A locked dialog and whether the transfer's named targets exist. */
export interface LockedWithTargets {
  readonly dialog: LockedDialog;
  readonly groupFound: boolean;
  readonly operatorFound: boolean;
  /** The group member the same statement picked (see lockDialogWithTargets), for route(). */
  readonly picked: Picked;
}

/**
 * A group member picked ahead of route(), as its first step would: the operator, locked; null
 * when no free member was unlocked; undefined when nothing was picked ahead.
 */
export type Picked = string | null | undefined;

const NO_ID = NO_OPERATOR;
/** An assigned dialog past its group's no-answer time (aliases `d`, `g`; one parameter: now). */
const UNANSWERED = `d.status = 'ASSIGNED' and g.reassign_after_sec > 0 and d.sl_kind is not null
  and d.sl_started_at <= d.assigned_at and d.assigned_at + g.reassign_after_sec * interval '1 second' <= ?`;
/** Whoever checks a queue limit takes this lock first, so two hand-offs cannot both take the last place. */
const QUEUE_LIMIT_LOCK = 'help-queue-limit';

/**
 * The group's best available member (aliases `o`, `gm`; parameters: the group, an operator never
 * picked, then `only`'s, then when waiting the id a waited-for row must be above). Skipping
 * takes the row locked, passing rows others hold; waiting names the best one, locked or not.
 */
function memberPick(waiting: boolean, only = ''): string {
  return `select o.id from operators o join group_members gm on gm.operator_id = o.id
          where gm.group_id = ? and ${AVAILABLE} and o.id <> ? ${only} ${waiting ? 'and o.id > ?' : ''}
          order by ${LEAST_LOADED} limit 1 ${waiting ? '' : 'for no key update of o skip locked'}`;
}

function candidate(row: CandidateRow): Candidate {
  return { id: row.id, status: row.status, active: row.active_dialog_count, max: row.max_dialogs };
}

/** Takes `count` dialogs off an operator's load: the one statement that lowers a load. */
function lowerLoad(operatorId: string, count: number): SqlFragment {
  return { sql: 'update operators set active_dialog_count = active_dialog_count - ? where id = ?', params: [count, operatorId] };
}

/** The insert of a decision's DialogTransfer record. */
function transferInsert(
  dialog: LockedDialog,
  request: RouteRequest,
  decision: Decision,
  previous: string | null,
  now: Date,
  id: string = randomUUID(),
): SqlFragment {
  return {
    sql: `insert into dialog_transfers (id, dialog_id, at, kind, requested_group_id, requested_operator_id,
                                   from_operator_id, to_operator_id, outcome, reasons, note, from_queue)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?)`,
    params: [
      id,
      dialog.id,
      now,
      request.cause,
      request.groupId,
      request.operatorId,
      previous,
      decision.operatorId,
      decision.outcome,
      // JSON, because the driver would spread an array binding into a list.
      JSON.stringify(decision.reasons),
      request.note ?? null,
      dialog.status === DialogStatus.QUEUED,
    ],
  };
}

/**
 * The transactional side of routing. Every method runs inside the caller's transaction:
 * dialog rows are locked before operator rows; an operator's load changes only together
 * with the dialogs that make it up.
 */
export class Router {
  constructor(
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly sl: SlClock,
    private readonly options: RouterOptions,
    /** Told of every decision once its transaction has committed. */
    private readonly onDecision: (record: DecisionRecord) => void = () => undefined,
  ) {}

  async lockDialog(tx: EntityManager, id: string): Promise<LockedDialog | null> {
    const [row] = await tx.execute<LockedRow[]>(`select ${LOCKED_COLUMNS} from dialogs where id = ? for no key update`, [id]);
    return row ? lockedDialog(row) : null;
  }

  /**
   * Locks the dialog and, in the same statement, checks that the named transfer targets exist
   * (a null target counts as found): a transfer's checks cost no round trip of their own.
   *
   * When route() would begin by picking a member of the named group without waiting — a group
   * and no operator named, the dialog with the bot or in Help (so no operator is locked before
   * the pick), and no returning client's last operator to prefer — the statement also makes that
   * pick, after the dialog's lock (a lateral join runs for the locked row), so the lock order
   * holds. Pass the result to route().
   */
  async lockDialogWithTargets(tx: EntityManager, id: string, targets: TransferTargets): Promise<LockedWithTargets | null> {
    const pickAhead = targets.groupId !== null && targets.operatorId === null;
    const [row] = await tx.execute<
      Array<LockedRow & { group_found: boolean; operator_found: boolean; picks: boolean; picked: string | null }>
    >(
      `select d.*, p.id as picked
         from (select ${LOCKED_COLUMNS},
                      ?::uuid is null or exists (select 1 from groups where id = ?::uuid and deleted_at is null) as group_found,
                      ?::uuid is null or exists (select 1 from operators where id = ?::uuid and deleted_at is null) as operator_found,
                      ?::boolean and status in ('BOT', 'QUEUED')
                        and (external_id is null
                             or not exists (select 1 from groups where id = ?::uuid and prefer_last_operator_sec > 0)) as picks
                 from dialogs where id = ? for no key update) d
         left join lateral (${memberPick(false, 'and d.picks')}) p on true`,
      [
        targets.groupId,
        targets.groupId,
        targets.operatorId,
        targets.operatorId,
        pickAhead,
        targets.groupId,
        id,
        targets.groupId,
        NO_ID,
      ],
    );
    if (!row) return null;
    const picked = row.picks ? row.picked : undefined;
    if (picked) holdOperators(tx, [picked]);
    return { dialog: lockedDialog(row), groupFound: row.group_found, operatorFound: row.operator_found, picked };
  }

  /**
   * Decides where `dialog` goes: the requested operator, then the requested group (a returning
   * client's last operator first), then any available operator, else the Help queue — unless a
   * hand-off from the bot would wait beyond a queue limit: then it stays with the bot (REJECTED).
   * Writes the decision and its DialogTransfer.
   */
  async route(tx: EntityManager, dialog: LockedDialog, request: RouteRequest, picked?: Picked): Promise<Routed> {
    const startedAt = performance.now();
    const exclude = request.excludeOperatorId;
    // The operators known up front, in id order, before any pick: the one giving the dialog up
    // and the one asked for.
    await lockOperators(tx, [dialog.status === DialogStatus.ASSIGNED ? dialog.operator_id : null, request.operatorId]);
    const reasons: SkipReason[] = [];
    let chosen: string | null = null;
    let outcome = TransferOutcome.QUEUED;

    if (request.operatorId !== null) {
      const skipped = await this.tryOperator(tx, request.operatorId, exclude);
      if (skipped === null) chosen = request.operatorId;
      else reasons.push(skipped);
    }
    if (chosen === null && request.groupId !== null) {
      const member = await this.pickFromGroup(tx, request.groupId, exclude, dialog.external_id, picked);
      if (typeof member === 'string') chosen = member;
      else reasons.push(member.reason);
    }
    if (request.operatorId === null && request.groupId === null) reasons.push(SkipReason.NO_TARGET);
    if (chosen !== null) {
      outcome = TransferOutcome.ASSIGNED_TO_TARGET;
    } else {
      chosen = await this.pickAny(tx, exclude);
      if (chosen !== null) outcome = TransferOutcome.ASSIGNED_TO_ANY;
      else reasons.push(SkipReason.NO_OPERATOR_AVAILABLE);
    }
    const groupId = request.groupId ?? dialog.group_id;
    // Only a hand-off from the bot may be refused: dialogs already with operators always queue.
    if (chosen === null && dialog.status === DialogStatus.BOT && (await this.queueFull(tx, groupId))) {
      reasons.push(SkipReason.QUEUE_FULL);
      outcome = TransferOutcome.REJECTED;
    }

    const decision: Decision = { outcome, operatorId: chosen, groupId, reasons };
    const written =
      outcome === TransferOutcome.REJECTED
        ? this.reject(tx, dialog, request, decision, startedAt)
        : this.apply(tx, dialog, request, decision, startedAt);
    return { ...decision, written };
  }

  /**
   * Whether the Help queue (HELP_QUEUE_MAX) or the group's part of it (Group.maxQueued) already
   * holds its limit. Under a lock every such check takes, so concurrent hand-offs count one by
   * one; dialogs queued by others (re-routes, operators' transfers) count but never wait for it.
   */
  private async queueFull(tx: EntityManager, groupId: string | null): Promise<boolean> {
    const [group] = groupId
      ? await tx.execute<Array<{ max_queued: number }>>('select max_queued from groups where id = ?', [groupId])
      : [];
    const groupMax = group?.max_queued ?? 0;
    const helpMax = this.options.helpQueueMax;
    if (groupMax === 0 && helpMax === 0) return false;
    await tx.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [QUEUE_LIMIT_LOCK]);
    const [counts] = await tx.execute<Array<{ total: number; in_group: number }>>(
      `select count(*)::int as total, count(*) filter (where group_id = ?)::int as in_group
         from dialogs where status = 'QUEUED'`,
      [groupId],
    );
    return (helpMax > 0 && (counts?.total ?? 0) >= helpMax) || (groupMax > 0 && (counts?.in_group ?? 0) >= groupMax);
  }

  /** A refused hand-off: the decision is recorded, the dialog stays as it is (with the bot). */
  private reject(
    tx: EntityManager,
    dialog: LockedDialog,
    request: RouteRequest,
    decision: Decision,
    startedAt: number,
  ): AtCommit<DialogRow> {
    const recorded = transferInsert(dialog, request, decision, null, this.clock.now());
    const written = executeAtCommit<DialogRow>(tx, {
      sql: `with recorded as (${recorded.sql}) select * from dialogs where id = ?`,
      params: [...recorded.params, dialog.id],
    });
    this.told(tx, request, decision, startedAt);
    return written;
  }

  /** Metrics hear of the decision once it has committed. */
  private told(tx: EntityManager, request: RouteRequest, decision: Decision, startedAt: number): void {
    const record: DecisionRecord = {
      kind: request.cause,
      outcome: decision.outcome,
      reason: decision.reasons[0] ?? null,
      seconds: (performance.now() - startedAt) / 1000,
    };
    afterCommit(tx, () => this.onDecision(record));
  }

  /**
   * Moves the dialog to the decided place, moves the load from the operator giving it up to the
   * one taking it, records why and appends the events — one statement, whose result is the
   * updated row. Every operator row it changes is already held by this transaction (route() or
   * drain() locked it), so folding the writes together changes no lock order, and the statement
   * can wait to go out with the COMMIT.
   */
  private apply(
    tx: EntityManager,
    dialog: LockedDialog,
    request: RouteRequest,
    decision: Decision,
    startedAt: number,
  ): AtCommit<DialogRow> {
    const now = this.clock.now();
    const previous = dialog.status === DialogStatus.ASSIGNED ? dialog.operator_id : null;
    const to = decision.operatorId;
    // The first-response clock starts when the dialog reaches the operator side.
    const started = dialog.handed_over_at === null ? this.sl.startColumns(decision.groupId, SlKind.FIRST_RESPONSE, now) : null;
    const clock = started ? { sql: `,\n                ${started.sql}`, params: started.params } : { sql: '', params: [] };
    const parts: Array<{ name: string } & SqlFragment> = [];

    if (to !== null) {
      parts.push({
        name: 'moved',
        sql: `update dialogs set status = 'ASSIGNED', operator_id = ?, group_id = ?, assigned_at = ?,
                handed_over_at = coalesce(handed_over_at, ?), handed_on_by = null${clock.sql}
          where id = ? returning *`,
        params: [to, decision.groupId, now, now, ...clock.params, dialog.id],
      });
      if (to !== previous) {
        parts.push({
          name: 'taken',
          sql: 'update operators set active_dialog_count = active_dialog_count + 1, last_assigned_at = ? where id = ?',
          params: [now, to],
        });
      }
    } else {
      // An operator's hand-off that ends in Help is remembered, so no later drain returns it to
      // them (a re-queue keeps it); so is the operator who left it unanswered. A re-route of
      // someone going offline is not: they may take it back when online. A re-queue keeps its
      // place in the queue (queued_at).
      const remembers = request.cause === RoutingCause.TRANSFER || request.cause === RoutingCause.NO_ANSWER;
      const handedOnBy = remembers ? request.excludeOperatorId : null;
      parts.push({
        name: 'moved',
        sql: `update dialogs set status = 'QUEUED', operator_id = null, group_id = ?,
                queued_at = case when status = 'QUEUED' then queued_at else ? end,
                handed_over_at = coalesce(handed_over_at, ?), handed_on_by = coalesce(?, handed_on_by)${clock.sql}
          where id = ? returning *`,
        params: [decision.groupId, now, now, handedOnBy, ...clock.params, dialog.id],
      });
    }
    if (previous !== null && previous !== to) {
      parts.push({ name: 'released', ...lowerLoad(previous, 1) });
    }
    const transferId = randomUUID();
    parts.push({ name: 'recorded', ...transferInsert(dialog, request, decision, previous, now, transferId) });
    const type =
      to === null
        ? QueueEventType.QUEUED
        : previous !== null && previous !== to
          ? QueueEventType.TRANSFERRED
          : QueueEventType.ASSIGNED;
    const status = to === null ? DialogStatus.QUEUED : DialogStatus.ASSIGNED;
    // Written by the decision's own statement, which cannot see its update: they name the new group.
    const appended = this.events.appendWithin(tx, [
      {
        kind: 'queue',
        type,
        dialogId: dialog.id,
        status,
        previousStatus: dialog.status,
        groupId: decision.groupId,
        previousGroupId: dialog.group_id,
        operatorId: to,
        previousOperatorId: previous,
        transferId,
      },
      {
        kind: 'dialog',
        type: DialogEventType.STATUS_CHANGED,
        dialogId: dialog.id,
        messageId: null,
        status,
        groupId: decision.groupId,
      },
    ]);
    parts.push({ name: 'appended', ...appended });
    const written = executeAtCommit<DialogRow>(tx, {
      sql: `with ${parts.map((part) => `${part.name} as (${part.sql})`).join(',\n')}\nselect moved.* from moved, appended`,
      params: parts.flatMap((part) => part.params),
    });
    this.told(tx, request, decision, startedAt);
    return written;
  }

  /** null when the operator (locked by route) can take a dialog now, else why not. */
  private async tryOperator(tx: EntityManager, operatorId: string, exclude: string | null): Promise<SkipReason | null> {
    const [row] = await tx.execute<CandidateRow[]>(
      `select id, status, active_dialog_count, max_dialogs from operators where id = ? and deleted_at is null`,
      [operatorId],
    );
    return whyOperatorSkipped(row ? candidate(row) : undefined, exclude);
  }

  /**
   * The least-loaded available member, locked — or first, for a returning client, the member
   * who held their last dialog when it closed within the group's preferLastOperatorSec. Rows
   * another transaction is changing are skipped first; only when no unlocked member fits do we
   * wait for the locked ones, so a busy moment never sends a dialog past an operator who could
   * take it — except one this transaction may not wait for (the lock order): then the chain goes
   * on without them.
   */
  private async pickFromGroup(
    tx: EntityManager,
    groupId: string,
    exclude: string | null,
    externalId: string | null,
    pickedAhead: Picked,
  ): Promise<string | { reason: SkipReason }> {
    const params = [groupId, exclude ?? NO_ID];
    const member = (only: string) => (waiting: boolean) => memberPick(waiting, only);
    let picked: string | null;
    if (pickedAhead === undefined) {
      const last = externalId === null ? null : await this.lastOperatorOf(tx, groupId, externalId);
      if (last !== null) {
        const returning = await this.pick(tx, member('and o.id = ?'), [...params, last]);
        if (returning !== null) return returning;
      }
      picked = await this.pick(tx, member(''), params);
    } else {
      // The skipping half ran with the dialog's lock (lockDialogWithTargets).
      picked = pickedAhead ?? (await this.pickWaiting(tx, member(''), params));
    }
    if (picked !== null) return picked;

    const [group] = await tx.execute<unknown[]>('select 1 from groups where id = ? and deleted_at is null', [groupId]);
    if (!group) return { reason: SkipReason.GROUP_NOT_FOUND };
    const members = await tx.execute<CandidateRow[]>(
      `select o.id, o.status, o.active_dialog_count, o.max_dialogs
         from operators o join group_members gm on gm.operator_id = o.id
        where gm.group_id = ? and o.deleted_at is null`,
      [groupId],
    );
    return { reason: whyGroupSkipped(members.map(candidate), exclude) };
  }

  /**
   * Who held the last dialog of this external chat when it closed, if that was within the
   * group's preferLastOperatorSec (0 = off).
   */
  private async lastOperatorOf(tx: EntityManager, groupId: string, externalId: string): Promise<string | null> {
    const [row] = await tx.execute<Array<{ operator_id: string }>>(
      `select d.operator_id from dialogs d, groups g
        where g.id = ? and g.prefer_last_operator_sec > 0
          and d.external_id = ? and d.status = 'CLOSED' and d.operator_id is not null
          and d.closed_at >= ?::timestamptz - g.prefer_last_operator_sec * interval '1 second'
        order by d.closed_at desc, d.id desc limit 1`,
      [groupId, externalId, this.clock.now()],
    );
    return row?.operator_id ?? null;
  }

  /** The least-loaded available operator anywhere, locked (same skip-then-wait as groups). */
  private async pickAny(tx: EntityManager, exclude: string | null): Promise<string | null> {
    const sql = (waiting: boolean): string =>
      `select o.id from operators o where ${AVAILABLE} and o.id <> ? ${waiting ? 'and o.id > ?' : ''}
        order by ${LEAST_LOADED} limit 1 ${waiting ? '' : 'for no key update of o skip locked'}`;
    return this.pick(tx, sql, [exclude ?? NO_ID]);
  }

  /**
   * Runs a pick: first skipping rows others hold (never waits); else it waits for the best busy
   * operator above every one this transaction holds, so the wait keeps the id order. That wait
   * locks one named row: a locking `order by load limit 1` would lock every row it rechecks and
   * finds no longer fitting, in load order, and two such waits can deadlock.
   */
  private async pick(tx: EntityManager, sql: (waiting: boolean) => string, params: unknown[]): Promise<string | null> {
    const [skipping] = await tx.execute<Array<{ id: string }>>(sql(false), params);
    if (skipping) {
      holdOperators(tx, [skipping.id]);
      return skipping.id;
    }
    return this.pickWaiting(tx, sql, params);
  }

  /** The waiting half of pick(), once its skipping half found no one. */
  private async pickWaiting(tx: EntityManager, sql: (waiting: boolean) => string, params: unknown[]): Promise<string | null> {
    const [busy] = await tx.execute<Array<{ id: string }>>(sql(true), [...params, operatorWaitFloor(tx)]);
    if (!busy) return null;
    const [row] = await tx.execute<Array<{ id: string }>>(
      `select o.id from operators o where o.id = ? and ${AVAILABLE} for no key update`,
      [busy.id],
    );
    // Held even when it no longer fits (the lock stays until commit).
    holdOperators(tx, [busy.id]);
    return row?.id ?? null;
  }

  /** Takes `count` dialogs off an operator's load (locking their row, in the documented order). */
  async release(tx: EntityManager, operatorId: string, count: number): Promise<void> {
    const lowered = lowerLoad(operatorId, count);
    await tx.execute(lowered.sql, [...lowered.params]);
    holdOperators(tx, [operatorId]);
  }

  /**
   * Gives a freed operator queued dialogs up to their capacity: those aimed at their groups
   * first, each part in the queue's drain order (rules.QUEUE_ORDER). Dialogs other transactions hold are left to them;
   * neither `skipDialogId` (the one just moved away from them) nor any dialog they handed on
   * comes back to them.
   */
  async drain(tx: EntityManager, operatorId: string, skipDialogId: string | null = null): Promise<number> {
    const [op] = await tx.execute<CandidateRow[]>(
      `select id, status, active_dialog_count, max_dialogs
         from operators where id = ? and deleted_at is null for no key update`,
      [operatorId],
    );
    holdOperators(tx, [operatorId]);
    if (!op || op.status !== 'ONLINE') return 0;
    const free = op.max_dialogs - op.active_dialog_count;
    if (free <= 0) return 0;

    const own = await tx.execute<Array<{ id: string }>>(
      `select d.id from dialogs d
        where d.status = 'QUEUED' and d.id <> ? and d.handed_on_by is distinct from ?
          and d.group_id in (select group_id from group_members where operator_id = ?)
        order by ${QUEUE_ORDER} limit ? for no key update of d skip locked`,
      [skipDialogId ?? NO_ID, operatorId, operatorId, free],
    );
    const ownIds = own.map((d) => d.id);
    const rest =
      own.length < free
        ? await tx.execute<Array<{ id: string }>>(
            `select d.id from dialogs d
              where d.status = 'QUEUED' and d.id <> ? and d.handed_on_by is distinct from ?
                ${ownIds.length ? 'and d.id not in (?)' : ''}
              order by ${QUEUE_ORDER} limit ? for no key update of d skip locked`,
            ownIds.length
              ? [skipDialogId ?? NO_ID, operatorId, ownIds, free - own.length]
              : [skipDialogId ?? NO_ID, operatorId, free - own.length],
          )
        : [];

    let assigned = 0;
    for (const { id } of [...own, ...rest]) {
      const startedAt = performance.now();
      const dialog = await this.lockDialog(tx, id);
      if (!dialog || dialog.status !== DialogStatus.QUEUED) continue;
      const isOwn = ownIds.includes(id);
      this.apply(
        tx,
        dialog,
        { cause: RoutingCause.DRAIN, groupId: dialog.group_id, operatorId: null, excludeOperatorId: null },
        {
          outcome: isOwn ? TransferOutcome.ASSIGNED_TO_TARGET : TransferOutcome.ASSIGNED_TO_ANY,
          operatorId,
          groupId: dialog.group_id,
          reasons: [],
        },
        startedAt,
      );
      assigned++;
    }
    return assigned;
  }

  /**
   * Assigned dialogs whose client has waited the group's reassignAfterSec since the assignment
   * with no reply from the operator (the running SL clock started at or before the assignment),
   * oldest assignment first. A hint: each is re-checked under its lock by rerouteUnanswered.
   */
  async dueForNoAnswer(em: EntityManager, now: Date, limit = 100): Promise<string[]> {
    const rows = await em.execute<Array<{ id: string }>>(
      `select d.id from dialogs d join groups g on g.id = d.group_id where ${UNANSWERED} order by d.assigned_at, d.id limit ?`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Routes an unanswered dialog again through its group's chain, never back to the silent
   * operator (nor, from Help, by a drain), as a NO_ANSWER decision; the SL clock keeps its start.
   * The dialog is taken SKIP LOCKED and re-checked: a reply, a transfer or another process's
   * sweep that got there first leaves nothing to do (false). A new assignment is a new round.
   */
  async rerouteUnanswered(tx: EntityManager, dialogId: string): Promise<boolean> {
    const [due] = await tx.execute<Array<{ id: string }>>(
      `select d.id from dialogs d join groups g on g.id = d.group_id
        where d.id = ? and ${UNANSWERED} for no key update of d skip locked`,
      [dialogId, this.clock.now()],
    );
    const dialog = due ? await this.lockDialog(tx, dialogId) : null;
    if (!dialog || dialog.operator_id === null) return false;
    const silent = dialog.operator_id;
    await this.route(tx, dialog, {
      cause: RoutingCause.NO_ANSWER,
      groupId: dialog.group_id,
      operatorId: null,
      excludeOperatorId: silent,
    });
    // Their load fell by one, as after a transfer away.
    await this.drain(tx, silent, dialog.id);
    return true;
  }

  /** After an operator went offline: each of their dialogs through the chain again (their group, any, Help). */
  async rerouteAll(tx: EntityManager, operatorId: string): Promise<number> {
    // Most urgent first. The rows are held already (PresenceService.lockForOffline, in id order);
    // each is locked again below before it moves.
    const rows = await tx.execute<Array<{ id: string }>>(
      `select d.id from dialogs d where d.operator_id = ? and d.status = 'ASSIGNED' order by ${HELD_ORDER}`,
      [operatorId],
    );
    for (const { id } of rows) {
      const dialog = await this.lockDialog(tx, id);
      // Closed dialogs keep their operator too: only those still held move on.
      if (!dialog || dialog.status !== DialogStatus.ASSIGNED || dialog.operator_id !== operatorId) continue;
      await this.route(tx, dialog, {
        cause: RoutingCause.REROUTE,
        groupId: dialog.group_id,
        operatorId: null,
        excludeOperatorId: operatorId,
      });
    }
    return rows.length;
  }
}
