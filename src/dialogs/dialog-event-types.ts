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
  description: "What happened to a dialog in a queue's (or the operator's) stream.",
  valuesConfig: {
    QUEUED: { description: 'the dialog entered the Help queue' },
    ASSIGNED: { description: 'the dialog was assigned to an operator (from the bot or from Help)' },
    TRANSFERRED: { description: 'the dialog went to an operator other than the one who held it (handed on, or routed again)' },
    CLOSED: { description: 'the dialog was closed' },
    SL_BREACHED: { description: "the dialog's SL clock passed its deadline with no reply" },
    SL_WARNING: { description: "the dialog's SL clock is SL_WARNING_SEC from its deadline" },
    MESSAGE: { description: "a message in one of the calling operator's dialogs (myDialogs only); QueueEvent.message is it" },
  },
});

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
  description: 'What happened in one dialog.',
  valuesConfig: {
    MESSAGE: { description: 'a message was posted (DialogEvent.message)' },
    STATUS_CHANGED: { description: 'the status or the holder changed: assigned, queued, transferred or closed' },
    SL_BREACHED: { description: 'the running SL clock passed its deadline with no reply' },
    SL_WARNING: { description: 'the running SL clock is SL_WARNING_SEC from its deadline' },
    PRIORITY_CHANGED: {
      description: "setDialogPriority changed the dialog's priority (its place in the Help queue may have moved)",
    },
  },
});
