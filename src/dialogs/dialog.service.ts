import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { Role } from '../auth/role.js';
import type { Viewer } from '../auth/viewer.js';
import { DialogEventType, QueueEventType } from './dialog-event-types.js';
import type { EventSink } from '../events/domain-event.js';
import type { LockedDialog, LockedWithTargets, Router } from '../routing/router.js';
import { RoutingCause } from '../routing/transfer-enums.js';
import type { Clock } from '../shared/clock.js';
import { BadInputError, ConflictError, ConflictReason, ForbiddenError, NotFoundError } from '../shared/errors.js';
import { holdOperators } from '../shared/operator-locks.js';
import type { SqlFragment } from '../shared/sql.js';
import { inTransaction, type AtCommit } from '../shared/transaction.js';
import { intInRange, isId, text as validText, validateAll } from '../shared/validate.js';
import type { SlClock } from '../sl/sl-clock.js';
import { DialogStatus, MessageAuthor } from './dialog-enums.js';
import { dialogRecord, readDialogs, type DialogRecord, type DialogRow } from './dialog-record.js';
import type { StartDialogInput, TransferTarget } from './dialog.inputs.js';
import { once, validIdempotencyKey, type IdempotentCall } from './idempotency.js';

export const MAX_MESSAGE_LENGTH = 10_000;
export const PRIORITY_RANGE = [0, 10] as const;
const MAX_SHORT_TEXT = 200;

function optionalShort(field: string, value: string | null | undefined): string | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed.length > MAX_SHORT_TEXT) throw new BadInputError(field, `${field} must be at most ${MAX_SHORT_TEXT} characters`);
  return trimmed.length ? trimmed : null;
}

/** CONFLICT for a closed dialog: nothing more happens to it. */
function assertOpen(dialog: LockedDialog): void {
  if (dialog.status === DialogStatus.CLOSED) {
    throw new ConflictError('dialogId', 'the dialog is closed', { reason: ConflictReason.DIALOG_CLOSED });
  }
}

/** What a dialog mutation wrote: the dialog, and its row as it will commit. */
interface Written {
  readonly id: string;
  readonly written: AtCommit<DialogRow>;
}

/** Scope of idempotency keys: each token has its own key space. */
function keyScope(viewer: Viewer): string {
  return viewer.tokenId ?? 'admin-token';
}

/**
 * What bot runtimes and operators do to a dialog. One transaction per call; routing decisions
 * go through the Router, SL clocks through SlClock.
 */
export class DialogService {
  constructor(
    private readonly clock: Clock,
    private readonly router: Router,
    private readonly sl: SlClock,
    private readonly events: EventSink,
  ) {}

  /** A new dialog with the bot. */
  async start(em: EntityManager, viewer: Viewer, input: StartDialogInput, idempotencyKey?: string | null): Promise<DialogRecord> {
    const [externalId, clientName, key] = validateAll(
      () => optionalShort('externalId', input.externalId),
      () => optionalShort('clientName', input.clientName),
      () => validIdempotencyKey(idempotencyKey),
    );
    const scenarioId = input.scenarioId ?? null;
    const priority = input.priority == null ? 0 : intInRange('priority', input.priority, ...PRIORITY_RANGE);
    if (scenarioId !== null && !isId(scenarioId)) throw new NotFoundError('Scenario', scenarioId, 'scenarioId');
    // The insert happens only if the scenario exists. The partial unique index on open dialogs'
    // externalId decides between concurrent starts: the loser waits for the winner, inserts
    // nothing (ON CONFLICT: no error, no savepoint) and answers CONFLICT naming it.
    const insertion = (id: string, at: Date): SqlFragment => ({
      sql: `insert into dialogs (id, external_id, client_name, status, scenario_id, created_at, priority)
            select ?, ?, ?, 'BOT', ?::uuid, ?, ?
             where ?::uuid is null or exists (select 1 from scenarios where id = ?::uuid and deleted_at is null)
            on conflict (external_id) where status <> 'CLOSED' do nothing
            returning *`,
      params: [id, externalId, clientName, scenarioId, at, priority, scenarioId, scenarioId],
    });
    /** Nothing was inserted: CONFLICT for an open dialog with the externalId, NOT_FOUND for a missing scenario. */
    const refused = async (em: EntityManager): Promise<void> => {
      if (externalId === null) throw new NotFoundError('Scenario', scenarioId!, 'scenarioId');
      await this.refuseOpenDuplicate(em, externalId);
      // No open dialog holds the externalId (the clashing one closed in between): the scenario
      // is missing, or the insert is tried again.
      await this.requireScenario(em, scenarioId);
    };
    if (key === null) {
      // Without a key the insert and its event are one statement on their own.
      for (;;) {
        const id = randomUUID();
        const [row] = await this.events.changeAlone<DialogRow>(em, insertion(id, this.clock.now()), [
          { kind: 'started', dialogId: id },
        ]);
        if (row) return dialogRecord(row);
        await refused(em);
      }
    }
    const insert = async (tx: EntityManager, at: Date): Promise<Written> => {
      for (;;) {
        const { sql, params } = insertion(randomUUID(), at);
        const rows = await tx.execute<DialogRow[]>(sql, [...params]);
        if (rows[0]) {
          await this.events.publish(tx, { kind: 'started', dialogId: rows[0].id });
          return { id: rows[0].id, written: { rows: Promise.resolve(rows) } };
        }
        await refused(tx);
      }
    };
    // A repeat returns the dialog the first call created.
    return this.writeOnce(
      em,
      viewer,
      key,
      // The default adds nothing, so keys stored before priorities existed still match.
      { operation: 'startDialog', args: [externalId, clientName, scenarioId, ...(priority ? [String(priority)] : [])] },
      insert,
    );
  }

  /**
   * Sets an open dialog's priority (0–10). While QUEUED it moves the dialog's place in the
   * drain order at once; an assigned dialog keeps it for any later re-queue or re-route.
   */
  async setPriority(em: EntityManager, dialogId: string, priority: number): Promise<DialogRecord> {
    const value = intInRange('priority', priority, ...PRIORITY_RANGE);
    let written: DialogRow | undefined;
    await inTransaction(em, async (tx) => {
      const dialog = await this.openDialog(tx, dialogId);
      [written] = await tx.execute<DialogRow[]>('update dialogs set priority = ? where id = ? returning *', [value, dialog.id]);
      await this.events.publish(tx, {
        kind: 'dialog',
        type: DialogEventType.PRIORITY_CHANGED,
        dialogId: dialog.id,
        messageId: null,
      });
    });
    if (!written) throw new NotFoundError('Dialog', dialogId, 'dialogId');
    return dialogRecord(written);
  }

  /** A client (or bot) message. Returns the message id. */
  async postClientMessage(
    em: EntityManager,
    viewer: Viewer,
    dialogId: string,
    text: string,
    author: MessageAuthor = MessageAuthor.CLIENT,
    idempotencyKey?: string | null,
  ): Promise<string> {
    const [body, , key] = validateAll(
      () => validText('text', text, MAX_MESSAGE_LENGTH),
      () => {
        if (author === MessageAuthor.OPERATOR) throw new BadInputError('author', 'operators reply with sendMessage');
      },
      () => validIdempotencyKey(idempotencyKey),
    );
    return inTransaction(em, async (tx) => {
      const now = this.clock.now();
      const call = { operation: 'postClientMessage', args: [dialogId, body, author] };
      return once(tx, keyScope(viewer), key, call, now, async () => {
        const dialog = await this.openDialog(tx, dialogId);
        const messageId = await this.insertMessage(tx, dialog, author, body, null, now);
        if (author === MessageAuthor.CLIENT) {
          await this.sl.onClientMessage(tx, dialog, dialog.handed_over_at !== null, now);
        }
        return messageId;
      });
    });
  }

  /** The Result block's "Transfer to operator", or an operator handing a dialog on. */
  async transfer(
    em: EntityManager,
    viewer: Viewer,
    dialogId: string,
    to: TransferTarget,
    idempotencyKey?: string | null,
  ): Promise<DialogRecord> {
    const [, key] = validateAll(
      () => {
        if (to.groupId == null && to.operatorId == null) throw new BadInputError('to', 'name a groupId, an operatorId, or both');
      },
      () => validIdempotencyKey(idempotencyKey),
    );
    const call = { operation: 'transferDialog', args: [dialogId, to.groupId ?? null, to.operatorId ?? null] };
    return this.writeOnce(em, viewer, key, call, async (tx) => {
      const { dialog, picked } = await this.openDialogChecking(tx, viewer, dialogId, to);
      const from = dialog.status === DialogStatus.ASSIGNED ? dialog.operator_id : null;
      const request = {
        cause: RoutingCause.TRANSFER,
        groupId: to.groupId ?? null,
        operatorId: to.operatorId ?? null,
        // An operator handing a dialog on does not get it back.
        excludeOperatorId: viewer.role === Role.OPERATOR ? from : null,
      };
      const { written } = await this.router.route(tx, dialog, request, picked);
      if (from !== null) await this.router.drain(tx, from, dialog.id);
      return { id: dialog.id, written };
    });
  }

  /** The bot could not continue: the scenario's fallback group, else any available operator. */
  async reportBotFailure(
    em: EntityManager,
    viewer: Viewer,
    dialogId: string,
    reason?: string | null,
    idempotencyKey?: string | null,
  ): Promise<DialogRecord> {
    const [note, key] = validateAll(
      () => (reason == null ? null : validText('reason', reason, 1000)),
      () => validIdempotencyKey(idempotencyKey),
    );
    return this.writeOnce(em, viewer, key, { operation: 'reportBotFailure', args: [dialogId, note] }, async (tx) => {
      const dialog = await this.openDialog(tx, dialogId);
      if (dialog.status !== DialogStatus.BOT) {
        throw new ConflictError('dialogId', `the dialog is ${dialog.status}, not with the bot`, {
          reason: ConflictReason.NOT_WITH_BOT,
        });
      }
      const [scenario] = dialog.scenario_id
        ? await tx.execute<Array<{ fallback_group_id: string | null }>>(
            `select s.fallback_group_id from scenarios s
               join groups g on g.id = s.fallback_group_id and g.deleted_at is null
              where s.id = ?`,
            [dialog.scenario_id],
          )
        : [];
      const { written } = await this.router.route(tx, dialog, {
        cause: RoutingCause.BOT_FAILURE,
        groupId: scenario?.fallback_group_id ?? null,
        operatorId: null,
        excludeOperatorId: null,
        note,
      });
      return { id: dialog.id, written };
    });
  }

  /** An operator's reply; only in a dialog assigned to them (staff: any dialog handed over and open). */
  async sendMessage(em: EntityManager, viewer: Viewer, dialogId: string, text: string): Promise<string> {
    const body = validText('text', text, MAX_MESSAGE_LENGTH);
    return inTransaction(em, async (tx) => {
      const now = this.clock.now();
      const dialog = await this.openDialog(tx, dialogId);
      const mine = dialog.status === DialogStatus.ASSIGNED && dialog.operator_id === viewer.operatorId;
      if (viewer.role === Role.OPERATOR && !mine) {
        throw new ForbiddenError('Operators reply only in dialogs assigned to them');
      }
      // Before hand-over no operator-side clock exists; a reply would fake a first response.
      if (dialog.status === DialogStatus.BOT) {
        throw new ConflictError('dialogId', 'the dialog is still with the bot; transfer it to operators first', {
          reason: ConflictReason.NOT_WITH_BOT,
        });
      }
      // Staff replies are nobody's operator work: crediting the assignee would skew their report.
      const author = viewer.operatorId;
      const messageId = await this.insertMessage(tx, dialog, MessageAuthor.OPERATOR, body, author, now);
      await this.sl.onOperatorReply(tx, dialog, author, now);
      // Replying is what keeps an operator from being logged out for inactivity.
      // The message and SL record above took only FOR KEY SHARE on this row (their foreign keys),
      // which no other transaction's lock on it waits for.
      if (viewer.operatorId !== null) {
        await tx.execute('update operators set last_activity_at = ? where id = ?', [now, viewer.operatorId]);
        holdOperators(tx, [viewer.operatorId]);
      }
      return messageId;
    });
  }

  /** An operator takes a dialog from the Help queue by hand, within their maximum. */
  async take(em: EntityManager, viewer: Viewer, dialogId: string): Promise<string> {
    const operatorId = viewer.operatorId;
    if (operatorId === null) throw new BadInputError('dialogId', 'only an operator can take a dialog');
    return inTransaction(em, async (tx) => {
      const dialog = await this.lockVisible(tx, dialogId);
      if (dialog.status !== DialogStatus.QUEUED) {
        throw new ConflictError('dialogId', `the dialog is ${dialog.status}, no longer in the Help queue`, {
          reason: ConflictReason.NOT_QUEUED,
        });
      }
      const [op] = await tx.execute<Array<{ status: string; active_dialog_count: number; max_dialogs: number }>>(
        'select status, active_dialog_count, max_dialogs from operators where id = ? for no key update',
        [operatorId],
      );
      holdOperators(tx, [operatorId]);
      if (!op || op.status !== 'ONLINE')
        throw new ConflictError('dialogId', 'go ONLINE before taking dialogs', { reason: ConflictReason.NOT_ONLINE });
      if (op.active_dialog_count >= op.max_dialogs) {
        throw new ConflictError('dialogId', `at capacity (${op.max_dialogs} active dialogs)`, {
          reason: ConflictReason.AT_CAPACITY,
        });
      }
      await this.router.route(tx, dialog, {
        cause: RoutingCause.TAKE,
        groupId: null,
        operatorId,
        excludeOperatorId: null,
      });
      return dialog.id;
    });
  }

  async close(em: EntityManager, viewer: Viewer, dialogId: string, idempotencyKey?: string | null): Promise<string> {
    const key = validIdempotencyKey(idempotencyKey);
    return inTransaction(em, async (tx) => {
      const now = this.clock.now();
      return once(tx, keyScope(viewer), key, { operation: 'closeDialog', args: [dialogId] }, now, async () => {
        const dialog = await this.lockVisible(tx, dialogId);
        if (dialog.status === DialogStatus.CLOSED) return dialog.id;
        this.assertMayHandle(viewer, dialog);
        const from = dialog.status === DialogStatus.ASSIGNED ? dialog.operator_id : null;
        await this.sl.onClose(tx, dialog, now);
        // operator_id stays: a closed dialog keeps pointing at who handled it.
        await tx.execute(`update dialogs set status = 'CLOSED', closed_at = ? where id = ?`, [now, dialog.id]);
        // Announced before the drain it makes room for, so subscribers see cause before effect.
        await this.events.publish(tx, {
          kind: 'queue',
          type: QueueEventType.CLOSED,
          dialogId: dialog.id,
          status: DialogStatus.CLOSED,
          previousStatus: dialog.status,
          groupId: dialog.group_id,
          previousGroupId: dialog.group_id,
          operatorId: null,
          previousOperatorId: from,
          transferId: null,
        });
        await this.events.publish(tx, {
          kind: 'dialog',
          type: DialogEventType.STATUS_CHANGED,
          dialogId: dialog.id,
          messageId: null,
          status: DialogStatus.CLOSED,
        });
        if (from !== null) {
          await this.router.release(tx, from, 1);
          await this.router.drain(tx, from);
        }
        return dialog.id;
      });
    });
  }

  /**
   * Runs a dialog mutation once per idempotency key, in one transaction, and returns the dialog
   * as committed: from the row the mutation wrote (no read after commit), or, for a repeated key,
   * as it is now.
   */
  private async writeOnce(
    em: EntityManager,
    viewer: Viewer,
    key: string | null,
    call: IdempotentCall,
    work: (tx: EntityManager, now: Date) => Promise<Written>,
  ): Promise<DialogRecord> {
    let written = null as AtCommit<DialogRow> | null;
    const id = await inTransaction(em, async (tx) => {
      written = null; // a retried attempt starts afresh
      const now = this.clock.now();
      return once(tx, keyScope(viewer), key, call, now, async () => {
        const result = await work(tx, now);
        written = result.written;
        return result.id;
      });
    });
    // Read only now: the dialog's last write may have gone out with the COMMIT.
    const [row] = written === null ? [] : await written.rows;
    if (row) return dialogRecord(row);
    const [first] = await readDialogs(em, [id]);
    // A key's result is a dialog, and dialogs are never deleted.
    if (!first) throw new Error(`dialog ${id} of an idempotency key is gone`);
    return first;
  }

  /** NOT_FOUND for a named scenario that does not exist (or was deleted). */
  private async requireScenario(tx: EntityManager, scenarioId: string | null): Promise<void> {
    if (scenarioId === null) return;
    const [found] = await tx.execute<unknown[]>('select 1 from scenarios where id = ? and deleted_at is null', [scenarioId]);
    if (!found) throw new NotFoundError('Scenario', scenarioId, 'scenarioId');
  }

  /** CONFLICT naming the open dialog that already has `externalId`: one open dialog per external chat. */
  private async refuseOpenDuplicate(tx: EntityManager, externalId: string | null): Promise<void> {
    if (externalId === null) return;
    const [open] = await tx.execute<Array<{ id: string }>>(
      `select id from dialogs where external_id = ? and status <> 'CLOSED'`,
      [externalId],
    );
    if (open) {
      throw new ConflictError('externalId', `dialog ${open.id} is open for this externalId`, { dialogId: open.id });
    }
  }

  /**
   * openDialog for a transfer: one statement also checks that the named group and operator exist
   * (and may pick a member ahead, for route()).
   * Errors come in the order the checks read: the dialog (NOT_FOUND, CONFLICT), the caller's right
   * to hand it on (FORBIDDEN), then the targets (NOT_FOUND).
   */
  private async openDialogChecking(
    tx: EntityManager,
    viewer: Viewer,
    dialogId: string,
    to: TransferTarget,
  ): Promise<LockedWithTargets> {
    const groupId = to.groupId ?? null;
    const operatorId = to.operatorId ?? null;
    const locked = isId(dialogId)
      ? await this.router.lockDialogWithTargets(tx, dialogId, {
          groupId: groupId !== null && isId(groupId) ? groupId : null,
          operatorId: operatorId !== null && isId(operatorId) ? operatorId : null,
        })
      : null;
    if (!locked) throw new NotFoundError('Dialog', dialogId, 'dialogId');
    const { dialog } = locked;
    assertOpen(dialog);
    this.assertMayHandle(viewer, dialog);
    if (groupId !== null && (!isId(groupId) || !locked.groupFound)) throw new NotFoundError('Group', groupId, 'to.groupId');
    if (operatorId !== null && (!isId(operatorId) || !locked.operatorFound)) {
      throw new NotFoundError('Operator', operatorId, 'to.operatorId');
    }
    return locked;
  }

  /** OPERATOR callers act only on dialogs assigned to them. */
  private assertMayHandle(viewer: Viewer, dialog: LockedDialog): void {
    if (viewer.role !== Role.OPERATOR) return;
    if (dialog.status !== DialogStatus.ASSIGNED || dialog.operator_id !== viewer.operatorId) {
      throw new ForbiddenError('Operators act only on dialogs assigned to them');
    }
  }

  private async lockVisible(tx: EntityManager, dialogId: string): Promise<LockedDialog> {
    const dialog = isId(dialogId) ? await this.router.lockDialog(tx, dialogId) : null;
    if (!dialog) throw new NotFoundError('Dialog', dialogId, 'dialogId');
    return dialog;
  }

  private async openDialog(tx: EntityManager, dialogId: string): Promise<LockedDialog> {
    const dialog = await this.lockVisible(tx, dialogId);
    assertOpen(dialog);
    return dialog;
  }

  /** A message in a dialog locked by the caller; the dialog row keeps its newest message's seq. */
  private async insertMessage(
    tx: EntityManager,
    dialog: LockedDialog,
    author: MessageAuthor,
    body: string,
    operatorId: string | null,
    at: Date,
  ): Promise<string> {
    const id = randomUUID();
    await tx.execute(
      `with message as (
         insert into messages (id, dialog_id, author, text, operator_id, created_at) values (?, ?, ?, ?, ?, ?) returning seq
       )
       update dialogs set last_message_seq = (select seq from message) where id = ?`,
      [id, dialog.id, author, body, operatorId, at, dialog.id],
    );
    await this.events.publish(tx, {
      kind: 'dialog',
      type: DialogEventType.MESSAGE,
      dialogId: dialog.id,
      messageId: id,
      // The holder's dashboard hears of every message in their dialogs on one stream.
      operatorId: dialog.status === DialogStatus.ASSIGNED ? dialog.operator_id : null,
    });
    return id;
  }
}
