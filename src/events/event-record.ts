import { QueueEventType } from '../dialogs/dialog-event-types.js';
import type { DomainEvent } from './domain-event.js';
import { EventType } from './event-type.js';

/** What the log stores beside an event's body: its type and the ids readers filter and resolve by. */
export interface EventRecord {
  /** An EventType when the event is part of the public feed; else an internal name. */
  readonly type: string;
  readonly feed: boolean;
  readonly dialogId: string | null;
  readonly messageId: string | null;
  readonly transferId: string | null;
  readonly operatorId: string | null;
  /** The dialog's group when known from the event; else the log reads it from the dialog. */
  readonly groupId: string | null;
}

const QUEUE_TYPES: Record<QueueEventType, EventType | null> = {
  [QueueEventType.QUEUED]: EventType.DIALOG_QUEUED,
  [QueueEventType.ASSIGNED]: EventType.DIALOG_ASSIGNED,
  [QueueEventType.TRANSFERRED]: EventType.DIALOG_ASSIGNED,
  [QueueEventType.CLOSED]: EventType.DIALOG_CLOSED,
  // SL events are logged as kind 'sl'; these two types exist only on the queue streams.
  [QueueEventType.SL_BREACHED]: null,
  [QueueEventType.SL_WARNING]: null,
  // Messages are logged as kind 'dialog' (MESSAGE_POSTED).
  [QueueEventType.MESSAGE]: null,
};

const none = { dialogId: null, messageId: null, transferId: null, operatorId: null, groupId: null } as const;

function internal(type: string, ids: Partial<EventRecord> = {}): EventRecord {
  return { ...none, ...ids, type, feed: false };
}

function feed(type: EventType, ids: Partial<EventRecord>): EventRecord {
  return { ...none, ...ids, type, feed: true };
}

/** How an event is recorded in the log: one definition of which events the public feed carries. */
export function recordOf(event: DomainEvent): EventRecord {
  switch (event.kind) {
    case 'started':
      return feed(EventType.DIALOG_STARTED, { dialogId: event.dialogId });
    case 'queue': {
      const ids = {
        dialogId: event.dialogId,
        transferId: event.transferId,
        operatorId: event.operatorId ?? event.previousOperatorId,
        groupId: event.groupId ?? event.previousGroupId,
      };
      const type = QUEUE_TYPES[event.type];
      return type === null ? internal(`queue_${event.type.toLowerCase()}`, ids) : feed(type, ids);
    }
    case 'dialog':
      return event.messageId !== null
        ? feed(EventType.MESSAGE_POSTED, { dialogId: event.dialogId, messageId: event.messageId })
        : internal(`dialog_${event.type.toLowerCase()}`, { dialogId: event.dialogId, groupId: event.groupId ?? null });
    case 'sl':
      return feed(event.type === 'BREACHED' ? EventType.SL_BREACHED : EventType.SL_WARNING, {
        dialogId: event.dialogId,
        groupId: event.groupId ?? null,
      });
    case 'operator':
      return feed(EventType.OPERATOR_STATUS_CHANGED, { operatorId: event.operatorId });
    case 'session_ended':
      return internal('session_ended');
    case 'token_revoked':
      return internal('token_revoked');
  }
}
