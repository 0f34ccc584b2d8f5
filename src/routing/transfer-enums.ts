import { registerEnumType } from 'type-graphql';

/** What started a routing decision. */
export enum RoutingCause {
  TRANSFER = 'TRANSFER',
  BOT_FAILURE = 'BOT_FAILURE',
  DRAIN = 'DRAIN',
  TAKE = 'TAKE',
  REROUTE = 'REROUTE',
}
registerEnumType(RoutingCause, { name: 'TransferKind', description: 'What started a routing decision.' });

/**
 * Why a requested target could not take the dialog. The values are what dialog_transfers.reasons
 * stores and the routing metrics' `reason` label shows.
 */
export enum SkipReason {
  OPERATOR_NOT_FOUND = 'operator_not_found',
  OPERATOR_IS_SENDER = 'operator_is_sender',
  OPERATOR_OFFLINE = 'operator_offline',
  OPERATOR_AT_CAPACITY = 'operator_at_capacity',
  GROUP_NOT_FOUND = 'group_not_found',
  GROUP_EMPTY = 'group_empty',
  GROUP_NO_ONLINE_MEMBERS = 'group_no_online_members',
  GROUP_AT_CAPACITY = 'group_at_capacity',
  NO_TARGET = 'no_target',
  NO_OPERATOR_AVAILABLE = 'no_operator_available',
}
registerEnumType(SkipReason, { name: 'TransferReason', description: 'Why a requested target did not take the dialog.' });
