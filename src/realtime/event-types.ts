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
  /** The dialog's priority changed (its place in the Help queue may have moved). */
  PRIORITY_CHANGED = 'PRIORITY_CHANGED',
  /** The running SL clock passed its deadline with no reply. */
  SL_BREACHED = 'SL_BREACHED',
  /** The running SL clock is about to pass its deadline. */
  SL_WARNING = 'SL_WARNING',
}
registerEnumType(DialogEventType, {
  name: 'DialogEventType',
  valuesConfig: {
    PRIORITY_CHANGED: {
      description: "setDialogPriority changed the dialog's priority (its place in the Help queue may have moved)",
    },
  },
});
