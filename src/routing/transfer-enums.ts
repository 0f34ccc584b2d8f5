import { registerEnumType } from 'type-graphql';

/** What started a routing decision. */
export enum RoutingCause {
  TRANSFER = 'TRANSFER',
  BOT_FAILURE = 'BOT_FAILURE',
  DRAIN = 'DRAIN',
  TAKE = 'TAKE',
  REROUTE = 'REROUTE',
  /** The assigned operator did not answer in time (the group's reassignAfterSec). */
  NO_ANSWER = 'NO_ANSWER',
}
registerEnumType(RoutingCause, {
  name: 'TransferKind',
  description: 'What started a routing decision.',
  valuesConfig: {
    TRANSFER: { description: 'transferDialog: the bot handing over, or an operator or staff handing on' },
    BOT_FAILURE: { description: "reportBotFailure: the bot gave up; to the scenario's fallback group" },
    DRAIN: { description: 'capacity freed and a dialog waiting in Help went to that operator' },
    TAKE: { description: 'takeDialog: an operator took it from the Help queue' },
    REROUTE: { description: 'its operator went OFFLINE (logout, auto-logout, deletion) and it was routed again' },
    NO_ANSWER: { description: "the assigned operator did not answer in time (the group's reassignAfterSec)" },
  },
});

/**
 * Why a requested target could not take the dialog. The values are what dialog_transfers.reasons
 * stores and the routing metrics' `reason` label shows.
 */
export enum SkipReason {
  OPERATOR_NOT_FOUND = 'operator_not_found',
  OPERATOR_IS_SENDER = 'operator_is_sender',
  OPERATOR_OFFLINE = 'operator_offline',
  OPERATOR_AWAY = 'operator_away',
  OPERATOR_AT_CAPACITY = 'operator_at_capacity',
  GROUP_NOT_FOUND = 'group_not_found',
  GROUP_EMPTY = 'group_empty',
  GROUP_NO_ONLINE_MEMBERS = 'group_no_online_members',
  GROUP_AT_CAPACITY = 'group_at_capacity',
  NO_TARGET = 'no_target',
  NO_OPERATOR_AVAILABLE = 'no_operator_available',
  /** The queue the dialog would wait in is at its limit (hand-offs from the bot only). */
  QUEUE_FULL = 'queue_full',
}
registerEnumType(SkipReason, {
  name: 'TransferReason',
  description: 'Why a requested target did not take the dialog.',
  valuesConfig: {
    OPERATOR_NOT_FOUND: { description: 'the requested operator does not exist (or was deleted)' },
    OPERATOR_IS_SENDER: { description: 'the requested operator is the one handing the dialog on' },
    OPERATOR_OFFLINE: { description: 'the requested operator is not ONLINE' },
    OPERATOR_AT_CAPACITY: { description: 'the requested operator already holds maxDialogs dialogs' },
    GROUP_NOT_FOUND: { description: 'the requested group does not exist (or was deleted)' },
    GROUP_EMPTY: { description: 'the requested group has no members (besides the sender)' },
    GROUP_NO_ONLINE_MEMBERS: { description: "none of the group's members (besides the sender) is ONLINE" },
    GROUP_AT_CAPACITY: { description: 'every ONLINE member of the group is at maxDialogs' },
    NO_TARGET: { description: 'no group or operator was requested (e.g. a bot failure without a fallback group)' },
    NO_OPERATOR_AVAILABLE: {
      description: 'no ONLINE operator anywhere (besides the sender) had capacity, so the dialog went to Help',
    },
    OPERATOR_AWAY: { description: 'the named operator is AWAY (paused)' },
    QUEUE_FULL: { description: 'the queue the dialog would wait in is at its limit' },
  },
});
