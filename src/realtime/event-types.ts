import { registerEnumType } from 'type-graphql';

export enum QueueEventType {
  QUEUED = 'QUEUED',
  ASSIGNED = 'ASSIGNED',
  TRANSFERRED = 'TRANSFERRED',
  CLOSED = 'CLOSED',
  /** A dialog's SL clock passed its deadline with no reply. */
  SL_BREACHED = 'SL_BREACHED',
  /** A dialog's SL clock is about to pass its deadline. */
  SL_WARNING = 'SL_WARNING',
}
registerEnumType(QueueEventType, { name: 'QueueEventType' });

export enum DialogEventType {
  MESSAGE = 'MESSAGE',
  STATUS_CHANGED = 'STATUS_CHANGED',
  /** The running SL clock passed its deadline with no reply. */
  SL_BREACHED = 'SL_BREACHED',
  /** The running SL clock is about to pass its deadline. */
  SL_WARNING = 'SL_WARNING',
}
registerEnumType(DialogEventType, { name: 'DialogEventType' });
