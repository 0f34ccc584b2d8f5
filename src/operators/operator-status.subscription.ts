import { Arg, Ctx, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Role } from '../auth/role.js';
import { isStaff } from '../auth/viewer.js';
import type { Context } from '../context.js';
import { topics } from '../events/topics.js';
import { eventLoaders } from '../loaders.js';
import type { Envelope } from '../realtime/envelope.js';
import { fromNow, stream } from '../realtime/stream.js';
import { memberOf, requireGroup, unwrap, viewerOf } from '../realtime/subscription-context.js';
import { ForbiddenError } from '../shared/errors.js';
import { Operator } from './operator.entity.js';
import type { OperatorRecord } from './operator-record.js';

type SubscribeData<Args> = SubscribeResolverData<unknown, Args, Context>;

/** Operators' status changes, live; authorization is checked at the start and for every event. */
@Resolver()
export class OperatorStatusSubscriptionResolver {
  @Subscription(() => Operator, {
    description:
      'ADMIN, SUPERVISOR, OPERATOR (their own groups): an operator whose status changed, as it is now; statusSequence numbers the stream',
    subscribe: async ({ args, context }: SubscribeData<{ groupId?: string | null }>) => {
      const viewer = viewerOf(context);
      const groupId = args.groupId ?? null;
      if (viewer.role === Role.INTEGRATION) throw new ForbiddenError('Not allowed for this role');
      if (groupId !== null) await requireGroup(context, groupId, 'groupId');
      if (!isStaff(viewer)) {
        const own =
          groupId !== null &&
          viewer.operatorId !== null &&
          (await context.services.operators.isMember(context.fork(), viewer.operatorId, groupId));
        if (!own) throw new ForbiddenError('Operators follow the status of their own groups only (pass groupId)');
      }
      // A group's stream holds the changes of whoever was a member at the time of the change.
      const topic = groupId === null ? topics.operatorStatus : topics.groupOperatorStatus(groupId);
      const { bus } = context.services;
      const resume = await fromNow(bus);
      return stream(
        bus,
        [topic],
        async (delivery) => {
          const { event, scope } = delivery;
          if (event.kind !== 'operator') return null;
          if (!isStaff(viewer) && groupId !== null && !(await memberOf(scope, viewer.operatorId!, groupId))) return null;
          const operator = await eventLoaders(scope).operatorById.load(event.operatorId);
          if (!operator) return null;
          return {
            value: operator,
            loaders: eventLoaders(scope),
            sequence: delivery.sequence,
          } satisfies Envelope<OperatorRecord>;
        },
        { resume },
      );
    },
  })
  operatorStatusChanged(
    @Root() envelope: Envelope<OperatorRecord>,
    @Arg('groupId', () => ID, {
      nullable: true,
      description:
        'only the members of this group at the time of each change (an OPERATOR must name one of their own groups); omitted (staff only): every operator',
    })
    _groupId: string | null,
    @Ctx() context: Context,
  ): OperatorRecord {
    return unwrap(envelope, context);
  }
}
