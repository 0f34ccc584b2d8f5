import { OperationTypeNode, type GraphQLResolveInfo } from 'graphql';
import { Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';
import type { Context } from '../context.js';
import { Operator } from './operator.entity.js';
import type { OperatorRecord } from './operator-record.js';

/** Fields that an Operator has only as the payload of operatorStatusChanged. */
@Resolver(() => Operator)
export class OperatorEventResolver {
  @FieldResolver(() => Int, {
    nullable: true,
    description:
      "on operatorStatusChanged: the event's sequence in its stream (per group, or of all operators without groupId), increasing by one in commit order; a gap means missed events (refetch). Null elsewhere",
  })
  statusSequence(@Root() _operator: OperatorRecord, @Ctx() context: Context, @Info() info: GraphQLResolveInfo): number | null {
    // Only on the subscription's root payload: nested operators are not the event.
    const payloadRoot =
      info.operation.operation === OperationTypeNode.SUBSCRIPTION &&
      info.path.prev !== undefined &&
      info.path.prev.prev === undefined;
    return payloadRoot ? context.eventSequence : null;
  }
}
