import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlFragment } from '../shared/sql.js';
import type { DialogStatus } from '../dialogs/dialog-enums.js';
import type { DialogEventType, QueueEventType } from '../dialogs/dialog-event-types.js';

/**
 * What changed, as the services report it inside their transaction. Small on purpose (ids
 * and types): subscribers resolve the rest after the commit.
 */
export type DomainEvent =
  | {
      readonly kind: 'queue';
      readonly type: QueueEventType;
      readonly dialogId: string;
      readonly status: DialogStatus;
      readonly previousStatus: DialogStatus;
      /** The dialog's group after the change. */
      readonly groupId: string | null;
      /** The dialog's group before the change, when it moved between groups. */
      readonly previousGroupId: string | null;
      readonly operatorId: string | null;
      readonly previousOperatorId: string | null;
      /** The routing decision behind the change (null for a close). */
      readonly transferId: string | null;
    }
  /** A bot started the dialog (it has no stream of its own until it is handed over). */
  | { readonly kind: 'started'; readonly dialogId: string }
  | {
      readonly kind: 'dialog';
      readonly type: DialogEventType;
      readonly dialogId: string;
      readonly messageId: string | null;
      /** On STATUS_CHANGED: the dialog's new status. */
      readonly status?: DialogStatus;
      /** On MESSAGE: the operator the dialog is assigned to, whose myDialogs stream carries it too. */
      readonly operatorId?: string | null;
      /** The dialog's group, when the publisher knows it (else the log reads it from the dialog). */
      readonly groupId?: string | null;
    }
  | {
      readonly kind: 'operator';
      readonly operatorId: string;
      /**
       * The operator's groups when the status changed: a deletion removes the memberships in
       * the same transaction, and the group's subscribers must still see the operator leave.
       */
      readonly groupIds: readonly string[];
    }
  /**
   * Some of the user's sessions ended (logout, auto-logout, deletion): their open sockets must
   * close. Which ones is read from the database, so the event stays small however many ended.
   */
  | { readonly kind: 'session_ended'; readonly userId: string }
  /** An API token was revoked: its open sockets must close on every instance. */
  | { readonly kind: 'token_revoked'; readonly tokenId: string }
  /** An SL clock passed its deadline (or is about to, for a warning). */
  | {
      readonly kind: 'sl';
      readonly type: 'BREACHED' | 'WARNING';
      readonly dialogId: string;
      /** The dialog's group, so queue dashboards hear of it too. */
      readonly groupId?: string | null;
      /** The dialog waits in the Help queue, so Help dashboards hear of it too. */
      readonly queued?: boolean;
    };

/** Where services report events. Implementations deliver them only if the transaction commits. */
export interface EventSink {
  /** Appends `event` with the transaction's other events when `tx` commits. */
  publish(tx: EntityManager, event: DomainEvent): Promise<void>;
  /**
   * Runs `change`, one statement returning the rows it changes, on its own (no transaction
   * around it) with `events` appended by the same statement if it changed a row: one round trip
   * where a transaction would take four. Returns the changed rows.
   */
  changeAlone<R extends object>(em: EntityManager, change: SqlFragment, events: readonly DomainEvent[]): Promise<R[]>;
  /**
   * The append of `events`, after those `tx` published before, as a query to run inside the
   * caller's next statement (a SELECT in its WITH): that statement writes them, and they are
   * delivered as published ones if `tx` commits. A statement does not see its own changes, so
   * the events name any group that statement changes.
   */
  appendWithin(tx: EntityManager, events: readonly DomainEvent[]): SqlFragment;
}
