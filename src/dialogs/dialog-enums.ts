import { registerEnumType } from 'type-graphql';

export enum DialogStatus {
  BOT = 'BOT',
  QUEUED = 'QUEUED',
  ASSIGNED = 'ASSIGNED',
  CLOSED = 'CLOSED',
}
registerEnumType(DialogStatus, {
  name: 'DialogStatus',
  description: 'Where a dialog is in its life: BOT → ASSIGNED or QUEUED → … → CLOSED.',
  valuesConfig: {
    BOT: { description: 'with the bot, not yet handed to operators' },
    QUEUED: { description: 'waiting unassigned in the Help queue' },
    ASSIGNED: { description: 'held by an operator (Dialog.operator)' },
    CLOSED: { description: 'finished; nothing more can be posted, transferred or taken' },
  },
});

export enum MessageAuthor {
  CLIENT = 'CLIENT',
  BOT = 'BOT',
  OPERATOR = 'OPERATOR',
}
registerEnumType(MessageAuthor, {
  name: 'MessageAuthor',
  description: 'Who wrote a message.',
  valuesConfig: {
    CLIENT: { description: 'the customer, posted by the bot runtime with postClientMessage' },
    BOT: { description: 'the bot, posted with postClientMessage(author: BOT)' },
    OPERATOR: { description: 'an operator or staff member, with sendMessage (Message.operator says who)' },
  },
});

export enum TransferOutcome {
  ASSIGNED_TO_TARGET = 'ASSIGNED_TO_TARGET',
  ASSIGNED_TO_ANY = 'ASSIGNED_TO_ANY',
  QUEUED = 'QUEUED',
  REJECTED = 'REJECTED',
}
registerEnumType(TransferOutcome, {
  name: 'TransferOutcome',
  description: 'Where a routing decision put the dialog.',
  valuesConfig: {
    ASSIGNED_TO_TARGET: { description: 'went to the requested group or operator' },
    ASSIGNED_TO_ANY: { description: 'the target could not take it; went to any available operator' },
    QUEUED: { description: 'nobody could take it; placed in the Help queue' },
    REJECTED: {
      description: 'nobody could take it and the queue is full: the dialog stays with the bot (hand-offs from the bot only)',
    },
  },
});

/** Orderings of the dialogs list; each ends with the id, so pages never overlap or skip. */
export enum DialogOrder {
  CREATED_DESC = 'CREATED_DESC',
  CREATED_ASC = 'CREATED_ASC',
  LAST_MESSAGE_DESC = 'LAST_MESSAGE_DESC',
  QUEUE_ORDER = 'QUEUE_ORDER',
}
registerEnumType(DialogOrder, {
  name: 'DialogOrder',
  description: 'the order of a dialogs page',
  valuesConfig: {
    CREATED_DESC: { description: 'newest first (the default)' },
    CREATED_ASC: { description: 'oldest first' },
    LAST_MESSAGE_DESC: { description: 'most recent message first; dialogs without messages last' },
    QUEUE_ORDER: {
      description:
        "the Help queue's drain order: earliest running SL deadline first (none: after every deadline), then longest queued",
    },
  },
});
