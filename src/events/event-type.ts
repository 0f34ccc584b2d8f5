import { registerEnumType } from 'type-graphql';

/** The public kinds of logged events (Query.events, Subscription.events, webhooks). */
export enum EventType {
  DIALOG_STARTED = 'DIALOG_STARTED',
  DIALOG_ASSIGNED = 'DIALOG_ASSIGNED',
  DIALOG_QUEUED = 'DIALOG_QUEUED',
  DIALOG_CLOSED = 'DIALOG_CLOSED',
  MESSAGE_POSTED = 'MESSAGE_POSTED',
  SL_WARNING = 'SL_WARNING',
  SL_BREACHED = 'SL_BREACHED',
  OPERATOR_STATUS_CHANGED = 'OPERATOR_STATUS_CHANGED',
}
registerEnumType(EventType, {
  name: 'EventType',
  description: 'What happened, as recorded in the event log.',
  valuesConfig: {
    DIALOG_STARTED: { description: 'a bot started the dialog' },
    DIALOG_ASSIGNED: {
      description:
        'a routing decision assigned the dialog (to the target, to any operator, by a drain, a take or a re-route); `transfer` is that decision',
    },
    DIALOG_QUEUED: { description: 'a routing decision placed the dialog in the Help queue; `transfer` is that decision' },
    DIALOG_CLOSED: { description: 'the dialog was closed' },
    MESSAGE_POSTED: { description: 'a client, bot or operator message (`message`)' },
    SL_WARNING: { description: "the dialog's running SL clock is about to pass its deadline" },
    SL_BREACHED: { description: "the dialog's running SL clock passed its deadline with no reply" },
    OPERATOR_STATUS_CHANGED: { description: "an operator's status changed (`operator`)" },
  },
});
