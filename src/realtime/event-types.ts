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
  /** A message in one of the calling operator's dialogs (myDialogs only). */
  MESSAGE = 'MESSAGE',
}
registerEnumType(QueueEventType, {
  name: 'QueueEventType',
  valuesConfig: {
    MESSAGE: { description: "a message in one of the calling operator's dialogs (myDialogs only); QueueEvent.message is it" },
  },
});

export enum DialogEventType {
  MESSAGE = 'MESSAGE',
  STATUS_CHANGED = 'STATUS_CHANGED',
  /** The running SL clock passed its deadline with no reply. */
  SL_BREACHED = 'SL_BREACHED',
  /** The running SL clock is about to pass its deadline. */
  SL_WARNING = 'SL_WARNING',
}
registerEnumType(DialogEventType, { name: 'DialogEventType' });
