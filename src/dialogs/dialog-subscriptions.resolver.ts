import { Arg, Ctx, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { DialogStatus } from './dialog-enums.js';
import { concealedDialog } from './concealed-dialog.js';
import type { DialogRecord } from './dialog-record.js';
import { eventLoaders } from '../loaders.js';
import { ForbiddenError, NotFoundError } from '../shared/errors.js';
import { isId } from '../shared/validate.js';
import type { Delivery, EventScope } from '../realtime/event-bus.js';
import { DialogEventType, QueueEventType } from './dialog-event-types.js';
import { DialogEvent, QueueEvent } from './dialog-events.types.js';
import type { Envelope } from '../realtime/envelope.js';
import { memberOf, requireGroup, unwrap, viewerOf } from '../realtime/subscription-context.js';
import { emptyStream, stream, topicResume } from '../realtime/stream.js';
import { topics } from '../events/topics.js';

const AFTER = 'with after: first the missed events after that sequence, then live ones; no gap, no duplicate';

type SubscribeData<Args> = SubscribeResolverData<unknown, Args, Context>;

/**
 * A queue event for an operator who may not see its dialog now: the dialog concealed, and no
 * message. A replayed event reads the dialog as it is now, which may be in a group of others.
 */
function concealed(envelope: Envelope<QueueEvent>): Envelope<QueueEvent> {
  const value = Object.assign(new QueueEvent(), envelope.value, {
    dialog: concealedDialog(envelope.value.dialog),
    message: null,
  });
  return { ...envelope, value };
}

/** An operator may see a dialog assigned to them, queued in Help, or aimed at one of their groups. */
async function operatorSees(scope: EventScope, operatorId: string, dialog: DialogRecord): Promise<boolean> {
  if (dialog.operatorId === operatorId || dialog.status === DialogStatus.QUEUED) return true;
  return dialog.groupId ? memberOf(scope, operatorId, dialog.groupId) : false;
}

function eventDialogId(delivery: Delivery): string | null {
  const { event } = delivery;
  return event.kind === 'queue' || event.kind === 'dialog' || event.kind === 'sl' ? event.dialogId : null;
}

function queueEventType(delivery: Delivery): QueueEventType | null {
  const { event } = delivery;
  if (event.kind === 'queue') return event.type;
  if (event.kind === 'sl') return event.type === 'BREACHED' ? QueueEventType.SL_BREACHED : QueueEventType.SL_WARNING;
  return null;
}

/**
 * The dialogs' live streams over graphql-ws. Authorization is checked when a subscription starts and again
 * for every event (memberships and assignments change while a socket is open).
 */
@Resolver()
export class DialogSubscriptionsResolver {
  @Subscription(() => QueueEvent, {
    description: "changes to a group's dialogs; without groupId, the Help queue. An OPERATOR follows their own groups and Help",
    subscribe: async ({ args, context }: SubscribeData<{ groupId?: string | null; after?: number | null }>) => {
      const viewer = viewerOf(context);
      const groupId = args.groupId ?? null;
      if (groupId !== null) {
        await requireGroup(context, groupId, 'groupId');
        if (
          viewer.role === Role.OPERATOR &&
          !(viewer.operatorId && (await context.services.operators.isMember(context.fork(), viewer.operatorId, groupId)))
        ) {
          throw new ForbiddenError('Operators follow only their own groups and the Help queue');
        }
      }
      const topic = groupId === null ? topics.helpQueue : topics.groupQueue(groupId);
      const { bus } = context.services;
      const resume = await topicResume(bus, topic, args.after);
      // One string for every event: a key built per subscriber and event would be hashed each time.
      const eventKey = `queueEvent:${topic}`;
      return stream(
        bus,
        [topic],
        async (delivery) => {
          const type = queueEventType(delivery);
          const dialogId = eventDialogId(delivery);
          if (type === null || dialogId === null) return null;
          const { scope } = delivery;
          if (groupId !== null && viewer.role === Role.OPERATOR && !(await memberOf(scope, viewer.operatorId!, groupId)))
            return null;
          // Built once per event and stream, shared by every subscriber allowed to see it (so
          // identical subscriptions can also share one execution: see shared-subscribe.ts).
          const envelope = await scope.once(eventKey, async () => {
            // Side by side: each is a round trip between the commit and the first subscriber.
            const [dialog, stats] = await Promise.all([
              eventLoaders(scope).dialogById.load(dialogId),
              scope.once(`stats:${groupId ?? 'help'}`, () => context.services.dialogQueries.queueStats(scope.em, groupId)),
            ]);
            if (!dialog) return null;
            const value = Object.assign(new QueueEvent(), {
              type,
              dialog,
              groupId,
              stats,
              sequence: delivery.sequence,
              message: null,
            });
            return { value, loaders: eventLoaders(scope) } satisfies Envelope<QueueEvent>;
          });
          if (envelope === null || viewer.role !== Role.OPERATOR) return envelope;
          if (await operatorSees(scope, viewer.operatorId!, envelope.value.dialog)) return envelope;
          return scope.once(`${eventKey}:concealed`, async () => concealed(envelope));
        },
        { resume },
      );
    },
  })
  queueChanged(
    @Root() envelope: Envelope<QueueEvent>,
    @Arg('groupId', () => ID, {
      nullable: true,
      description:
        'the group to follow (an OPERATOR: one of their own, else FORBIDDEN); omitted: the Help queue. NOT_FOUND for an unknown group',
    })
    _groupId: string | null,
    @Arg('after', () => Int, { nullable: true, description: AFTER }) _after: number | null,
    @Ctx() context: Context,
  ): QueueEvent {
    return unwrap(envelope, context);
  }

  @Subscription(() => QueueEvent, {
    description:
      "dialogs assigned to, or taken from, the calling operator, and the messages in the dialogs they hold; needs an operator's login session (FORBIDDEN otherwise)",
    subscribe: async ({ args, context }: SubscribeData<{ after?: number | null }>) => {
      const viewer = viewerOf(context);
      const operatorId = viewer.operatorId;
      if (!operatorId) throw new ForbiddenError('myDialogs needs an operator session');
      const topic = topics.operatorDialogs(operatorId);
      const { bus } = context.services;
      const resume = await topicResume(bus, topic, args.after);
      return stream(
        bus,
        [topic],
        async (delivery) => {
          const { event, scope } = delivery;
          const loaders = eventLoaders(scope);
          // A message reaches this stream only while the dialog is assigned to this operator (topicsOf).
          const isMessage = event.kind === 'dialog' && event.type === DialogEventType.MESSAGE && event.messageId !== null;
          if (event.kind !== 'queue' && !isMessage) return null;
          const dialog = await loaders.dialogById.load(event.dialogId);
          if (!dialog) return null;
          const groupId = event.kind === 'queue' ? event.groupId : dialog.groupId;
          const message =
            event.kind === 'dialog' && event.messageId !== null ? await loaders.messageById.load(event.messageId) : null;
          const stats = await scope.once(`stats:${groupId ?? 'help'}`, () =>
            context.services.dialogQueries.queueStats(scope.em, groupId),
          );
          const value = Object.assign(new QueueEvent(), {
            type: event.kind === 'queue' ? event.type : QueueEventType.MESSAGE,
            dialog,
            groupId,
            stats,
            sequence: delivery.sequence,
            message,
          });
          const envelope = { value, loaders } satisfies Envelope<QueueEvent>;
          // Taken from them: the event, not what was said after (a replay reads the dialog as it is now).
          return (await operatorSees(scope, operatorId, dialog)) ? envelope : concealed(envelope);
        },
        { resume },
      );
    },
  })
  myDialogs(
    @Root() envelope: Envelope<QueueEvent>,
    @Arg('after', () => Int, { nullable: true, description: AFTER }) _after: number | null,
    @Ctx() context: Context,
  ): QueueEvent {
    return unwrap(envelope, context);
  }

  @Subscription(() => DialogEvent, {
    description:
      "one dialog's messages, status changes and SL warnings and breaches; completes after the dialog's CLOSED status change",
    subscribe: async ({ args, context }: SubscribeData<{ dialogId: string; after?: number | null }>) => {
      const viewer = viewerOf(context);
      const visible = await context.services.dialogQueries.find(context.fork(), viewer, args.dialogId);
      if (!visible) {
        const exists = isId(args.dialogId) && (await context.services.dialogQueries.exists(context.fork(), args.dialogId));
        if (exists) throw new ForbiddenError('This dialog is not visible to the caller');
        throw new NotFoundError('Dialog', args.dialogId, 'dialogId');
      }
      const topic = topics.dialog(args.dialogId);
      const { bus } = context.services;
      const resume = await topicResume(bus, topic, args.after);
      // A closed dialog's stream has nothing more to say (unless replaying up to its close).
      if (args.after == null && visible.status === DialogStatus.CLOSED) return emptyStream<Envelope<DialogEvent>>();
      return stream(
        bus,
        [topic],
        async (delivery) => {
          const { event, scope } = delivery;
          const dialog = await eventLoaders(scope).dialogById.load(args.dialogId);
          if (!dialog) return null;
          if (viewer.role === Role.OPERATOR && !(viewer.operatorId && (await operatorSees(scope, viewer.operatorId, dialog)))) {
            return null;
          }
          let type: DialogEventType;
          let messageId: string | null = null;
          if (event.kind === 'dialog') {
            type = event.type;
            messageId = event.messageId;
          } else if (event.kind === 'sl') {
            type = event.type === 'BREACHED' ? DialogEventType.SL_BREACHED : DialogEventType.SL_WARNING;
          } else {
            return null;
          }
          const message = messageId ? await eventLoaders(scope).messageById.load(messageId) : null;
          const closed =
            event.kind === 'dialog' && event.type === DialogEventType.STATUS_CHANGED && event.status === DialogStatus.CLOSED;
          const value = Object.assign(new DialogEvent(), { type, dialog, message, sequence: delivery.sequence });
          return { value, loaders: eventLoaders(scope), closed } satisfies Envelope<DialogEvent> & { closed: boolean };
        },
        { resume, lastValue: (envelope) => envelope.closed },
      );
    },
  })
  dialogEvents(
    @Root() envelope: Envelope<DialogEvent>,
    @Arg('dialogId', () => ID, {
      description: 'a dialog the caller may see: NOT_FOUND if unknown, FORBIDDEN if not visible to them',
    })
    _dialogId: string,
    @Arg('after', () => Int, { nullable: true, description: AFTER }) _after: number | null,
    @Ctx() context: Context,
  ): DialogEvent {
    return unwrap(envelope, context);
  }
}
