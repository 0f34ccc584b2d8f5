import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  Int,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Dialog } from '../dialogs/dialog.entity.js';
import type { DialogRecord } from '../dialogs/dialog-record.js';
import type { MessageRecord } from '../dialogs/message-record.js';
import type { TransferRecord } from '../routing/transfer-record.js';
import { Message } from '../dialogs/message.entity.js';
import { eventLoaders } from '../loaders.js';
import { Operator } from '../operators/operator.entity.js';
import type { OperatorRecord } from '../operators/operator-record.js';
import type { FeedFilter } from '../realtime/event-log.js';
import { matchesFeed } from '../realtime/event-log.js';
import type { Envelope } from '../realtime/envelope.js';
import { fromNow, resumeLog, stream, WHOLE_LOG } from '../realtime/stream.js';
import { DialogTransfer } from '../routing/dialog-transfer.entity.js';
import { BadInputError, EventsExpiredError, UnauthenticatedError } from '../shared/errors.js';
import { EventFilter } from './event-filter.input.js';
import { mayView } from './event-visibility.js';
import { Event, EventConnection, cursorOf } from './event.types.js';

const ALL_ROLES = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type SubscribeData<Args> = SubscribeResolverData<unknown, Args, Context>;

/** Reads `after` (a cursor this API returned; null = from the start, or from now for a subscription). */
function positionOf(after: string | null | undefined): number | null {
  if (after == null) return null;
  if (!/^\d{1,15}$/.test(after)) throw new BadInputError('after', 'after is not a cursor this API returned');
  return Number(after);
}

async function checkedResumePoint(context: Context, after: number): Promise<void> {
  const state = await context.services.bus.log.checkResume(context.fork(), after);
  if (state === 'expired') throw new EventsExpiredError('after');
  if (state === 'ahead') throw new BadInputError('after', 'after is past the newest event');
}

function feedFilter(filter: EventFilter | null | undefined): FeedFilter {
  return { types: filter?.types, dialogId: filter?.dialogId, groupId: filter?.groupId, externalId: filter?.externalId?.trim() };
}

/** The public feed over the event log: a paged query, the position to start from, and a resumable stream. */
@Resolver(() => Event)
export class EventResolver {
  @Authorized(...ALL_ROLES)
  @Query(() => EventConnection, {
    description:
      'the log in commit order after `after` (exclusive); events are kept EVENT_RETENTION_DAYS. An operator may get fewer than `first` events (those they may not see are skipped); continue from pageInfo.endCursor',
  })
  async events(
    @Arg('after', () => String, {
      nullable: true,
      description: 'a cursor (Event.cursor, eventCursor, endCursor); none = the oldest kept',
    })
    after: string | null,
    @Arg('first', () => Int, {
      nullable: true,
      description: `at most this many events (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})`,
    })
    first: number | null,
    @Arg('filter', () => EventFilter, { nullable: true, description: 'only events matching all given conditions' })
    filter: EventFilter | null,
    @Ctx() context: Context,
  ): Promise<EventConnection> {
    const size = first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE) {
      throw new BadInputError('first', `first must be an integer in 0..${MAX_PAGE}`);
    }
    const from = positionOf(after);
    if (from !== null) await checkedResumePoint(context, from);
    const entries = await context.services.bus.log.readFeed(context.em, from ?? 0, null, feedFilter(filter), size);
    const edges = [];
    for (const entry of entries) {
      if (!(await mayView(context.viewer!, entry, context.loaders))) continue;
      const node = Event.of(entry);
      edges.push({ cursor: node.cursor, node });
    }
    const last = entries.at(-1);
    return {
      edges,
      pageInfo: {
        hasNextPage: size > 0 && entries.length === size,
        endCursor: last ? cursorOf(last.position) : after,
        // The log pages forward only.
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor ?? null,
      },
    };
  }

  @Authorized(...ALL_ROLES)
  @Query(() => String, {
    description:
      'the newest position now: events after it include every change that what you read before did not show (some may already be shown)',
  })
  async eventCursor(@Ctx() context: Context): Promise<string> {
    return cursorOf(await context.services.bus.log.head(context.em));
  }

  @Subscription(() => Event, {
    name: 'events',
    description:
      'replays the log after `after` (exclusive; without it, from now on), then streams new events as they commit: no gap, no duplicate, commit order',
    subscribe: async ({ args, context }: SubscribeData<{ after?: string | null; filter?: EventFilter | null }>) => {
      const viewer = context.viewer;
      if (!viewer) throw new UnauthenticatedError();
      const from = positionOf(args.after);
      if (from !== null) await checkedResumePoint(context, from);
      const filter = feedFilter(args.filter);
      const { bus } = context.services;
      return stream(
        bus,
        WHOLE_LOG,
        async ({ entry, scope }) => {
          const loaders = eventLoaders(scope);
          const externalIdOf = async (id: string): Promise<string | null> =>
            (await loaders.dialogById.load(id))?.externalId ?? null;
          if (!(await matchesFeed(entry, filter, externalIdOf))) return null;
          if (!(await mayView(viewer, entry, loaders))) return null;
          return { value: Event.of(entry), loaders } satisfies Envelope<Event>;
        },
        { resume: from === null ? await fromNow(bus) : resumeLog(bus, from, filter) },
      );
    },
  })
  eventStream(
    @Root() envelope: Envelope<Event>,
    @Arg('after', () => String, { nullable: true, description: 'resume after this cursor; none = from now on' })
    _after: string | null,
    @Arg('filter', () => EventFilter, { nullable: true, description: 'only events matching all given conditions' })
    _filter: EventFilter | null,
    @Ctx() context: Context,
  ): Event {
    context.loaders = envelope.loaders;
    return envelope.value;
  }

  @FieldResolver(() => Dialog, { nullable: true, description: 'the dialog the event is about, as it is now' })
  dialog(@Root() event: Event, @Ctx() { loaders }: Context): Promise<DialogRecord | null> | null {
    return event.entry.dialogId === null ? null : loaders.dialogById.load(event.entry.dialogId);
  }

  @FieldResolver(() => Message, { nullable: true, description: 'on MESSAGE_POSTED: the message' })
  message(@Root() event: Event, @Ctx() { loaders }: Context): Promise<MessageRecord | null> | null {
    return event.entry.messageId === null ? null : loaders.messageById.load(event.entry.messageId);
  }

  @FieldResolver(() => DialogTransfer, {
    nullable: true,
    description: 'on DIALOG_ASSIGNED and DIALOG_QUEUED: the routing decision',
  })
  transfer(@Root() event: Event, @Ctx() { loaders }: Context): Promise<TransferRecord | null> | null {
    return event.entry.transferId === null ? null : loaders.transferById.load(event.entry.transferId);
  }

  @FieldResolver(() => Operator, {
    nullable: true,
    description: 'on OPERATOR_STATUS_CHANGED: the operator, as now; on dialog events: the operator the dialog went to or left',
  })
  operator(@Root() event: Event, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> | null {
    return event.entry.operatorId === null ? null : loaders.operatorById.load(event.entry.operatorId);
  }
}
