import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { SlKind } from './sl-kind.js';
import type { SqlFragment } from '../shared/sql.js';

/** Server-wide targets for dialogs without a group. */
export interface SlDefaults {
  readonly firstResponseSec: number;
  readonly nextResponseSec: number;
}

/** The SL fields of a dialog row, as the clock rules need them. */
export interface ClockState {
  readonly id: string;
  readonly group_id: string | null;
  readonly operator_id: string | null;
  readonly sl_kind: SlKind | null;
  readonly sl_started_at: Date | null;
  readonly sl_deadline: Date | null;
  readonly sl_group_id: string | null;
  readonly last_operator_reply_at: Date | null;
}

/**
 * SL clocks, kept on the dialog row (one running clock at most) and closed into sl_responses.
 * Every function runs inside the caller's transaction, on a locked dialog row.
 */
export class SlClock {
  constructor(private readonly defaults: SlDefaults) {}

  /**
   * The SET clause that starts a clock, for the caller's own UPDATE of the dialog row (routing
   * folds it into the assignment, so a hand-over stays one statement). Targets come from the
   * dialog's group at the moment the clock starts.
   */
  startColumns(groupId: string | null, kind: SlKind, at: Date): SqlFragment {
    const fallbackSec = kind === SlKind.FIRST_RESPONSE ? this.defaults.firstResponseSec : this.defaults.nextResponseSec;
    const column = kind === SlKind.FIRST_RESPONSE ? 'sl_first_response_sec' : 'sl_next_response_sec';
    return {
      sql: `sl_kind = ?, sl_started_at = ?, sl_group_id = ?,
            sl_deadline = ?::timestamptz + make_interval(secs => coalesce((select ${column} from groups where id = ?), ?)),
            sl_breached_at = null, sl_warned_at = null`,
      params: [kind, at, groupId, at, groupId, fallbackSec],
    };
  }

  async start(tx: EntityManager, dialogId: string, groupId: string | null, kind: SlKind, at: Date): Promise<void> {
    const set = this.startColumns(groupId, kind, at);
    await tx.execute(`update dialogs set ${set.sql} where id = ?`, [...set.params, dialogId]);
  }

  /** A client message after an operator reply starts the next-response clock; a burst keeps the first start. */
  async onClientMessage(tx: EntityManager, dialog: ClockState, handedOver: boolean, at: Date): Promise<void> {
    if (!handedOver || dialog.sl_kind !== null || dialog.last_operator_reply_at === null) return;
    await this.start(tx, dialog.id, dialog.group_id, SlKind.NEXT_RESPONSE, at);
  }

  /**
   * The reply of the operator the dialog is assigned to stops the running clock and records
   * whether it met the target. Any other reply (staff in the Help queue or in someone else's
   * dialog) leaves the clock running: the dialog keeps its deadline, its place in the queue and
   * its owner's accountability. Callers pass open dialogs only (a closed one keeps its operator).
   */
  async onOperatorReply(tx: EntityManager, dialog: ClockState, operatorId: string | null, at: Date): Promise<void> {
    if (operatorId === null || dialog.operator_id !== operatorId) return;
    if (dialog.sl_kind !== null && dialog.sl_started_at !== null && dialog.sl_deadline !== null) {
      await this.record(tx, dialog, operatorId, {
        answeredAt: at,
        closedAt: null,
        met: at.getTime() <= dialog.sl_deadline.getTime(),
      });
    }
    await tx.execute(
      `update dialogs set sl_kind = null, sl_started_at = null, sl_deadline = null, sl_group_id = null,
              first_response_at = coalesce(first_response_at, ?), last_operator_reply_at = ?
        where id = ?`,
      [at, at, dialog.id],
    );
  }

  /**
   * Closing stops the clock unanswered. Reports count it as missed when its deadline had
   * passed, and leave it undecided when the dialog closed before the deadline.
   */
  async onClose(tx: EntityManager, dialog: ClockState, at: Date): Promise<void> {
    if (dialog.sl_kind === null || dialog.sl_deadline === null) return;
    await this.record(tx, dialog, dialog.operator_id, { answeredAt: null, closedAt: at, met: false });
    await tx.execute(
      'update dialogs set sl_kind = null, sl_started_at = null, sl_deadline = null, sl_group_id = null where id = ?',
      [dialog.id],
    );
  }

  private async record(
    tx: EntityManager,
    dialog: ClockState,
    operatorId: string | null,
    end: { answeredAt: Date | null; closedAt: Date | null; met: boolean },
  ): Promise<void> {
    await tx.execute(
      `insert into sl_responses (id, dialog_id, kind, group_id, operator_id, started_at, deadline, answered_at, closed_at, met)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        randomUUID(),
        dialog.id,
        dialog.sl_kind,
        dialog.sl_group_id,
        operatorId,
        dialog.sl_started_at,
        dialog.sl_deadline,
        end.answeredAt,
        end.closedAt,
        end.met,
      ],
    );
  }
}
