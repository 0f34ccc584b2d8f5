import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { isConcealed } from './concealed-dialog.js';
import { Group } from '../groups/group.entity.js';
import type { GroupRecord } from '../groups/group-record.js';
import { Operator } from '../operators/operator.entity.js';
import type { OperatorRecord } from '../operators/operator-record.js';
import { DialogTransfer } from '../routing/dialog-transfer.entity.js';
import type { TransferRecord } from '../routing/transfer-record.js';
import { Scenario } from '../scenarios/scenario.entity.js';
import type { ScenarioRecord } from '../scenarios/scenario-record.js';
import { messagesKey, unreadKey } from '../loaders.js';
import { NotFoundError } from '../shared/errors.js';
import { intInRange } from '../shared/validate.js';
import { SlTimer, slTimerAt } from '../sl/sl-timer.type.js';
import { DialogOrder, DialogStatus, MessageAuthor } from './dialog-enums.js';
import { estimatedWait, windowStart } from './queue-position.js';
import { readDialogs, type DialogRecord } from './dialog-record.js';
import { Dialog } from './dialog.entity.js';
import { DialogFilter, StartDialogInput, TransferTarget } from './dialog.inputs.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './dialog.queries.js';
import { DialogConnection, QueueStats } from './dialog.types.js';
import { readMessages, type MessageRecord } from './message-record.js';
import { Message } from './message.entity.js';
import { topics } from '../events/topics.js';

const ALL_ROLES = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const BOT_RUNTIME = [Role.SUPERVISOR, Role.INTEGRATION];
const HANDLERS = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const OPERATORS = [Role.SUPERVISOR, Role.OPERATOR];

/** The most `messages(last)` returns per dialog; without last, the whole history. */
const MAX_LAST_MESSAGES = 200;

const idempotencyKeyArg = { nullable: true, description: 'a retry with the same key returns the first result' } as const;

/** Reads a dialog after a mutation committed. */
async function reload(ctx: Context, id: string): Promise<DialogRecord> {
  const [dialog] = await readDialogs(ctx.em, [id]);
  if (!dialog) throw new NotFoundError('Dialog', id, 'dialogId');
  return dialog;
}

async function reloadMessage(ctx: Context, id: string): Promise<MessageRecord> {
  const [message] = await readMessages(ctx.em, [id]);
  if (!message) throw new NotFoundError('Message', id);
  return message;
}

@Resolver(() => Dialog)
export class DialogResolver {
  @Authorized(...ALL_ROLES)
  @Query(() => Dialog, {
    nullable: true,
    description:
      'one dialog; null when it does not exist or the caller may not see it (an operator sees the dialogs assigned to them, queued in Help or aimed at their groups)',
  })
  dialog(
    @Arg('id', () => ID, { description: 'the dialog id' }) id: string,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<DialogRecord | null> {
    return services.dialogQueries.find(em, viewer!, id);
  }

  @Authorized(...ALL_ROLES)
  @Query(() => DialogConnection, {
    description:
      'the dialogs the caller may see, a page at a time (Relay-style cursors): first/after pages forward, last/before backward',
  })
  dialogs(
    @Arg('filter', () => DialogFilter, {
      nullable: true,
      description: 'narrows the list; omitted: every dialog the caller may see',
    })
    filter: DialogFilter | null,
    @Arg('first', () => Int, {
      nullable: true,
      description: `page size, 0 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); otherwise BAD_USER_INPUT`,
    })
    first: number | null,
    @Arg('after', () => String, {
      nullable: true,
      description: 'the endCursor of the previous page; only cursors the API returned (otherwise BAD_USER_INPUT)',
    })
    after: string | null,
    @Arg('last', () => Int, {
      nullable: true,
      description: `page size counted back from before (or from the end), 0..${MAX_PAGE_SIZE}; not with first`,
    })
    last: number | null,
    @Arg('before', () => String, { nullable: true, description: "the dialogs before this cursor (an edge's or startCursor)" })
    before: string | null,
    @Arg('orderBy', () => DialogOrder, { nullable: true, description: 'default CREATED_DESC; cursors belong to one ordering' })
    orderBy: DialogOrder | null,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<DialogConnection> {
    return services.dialogQueries.connection(em, viewer!, filter, { first, after, last, before, orderBy });
  }

  @Authorized(...OPERATORS)
  @Query(() => [Dialog], {
    description:
      'ADMIN, SUPERVISOR, OPERATOR: QUEUED dialogs, most urgent first (earliest SL deadline, then longest queued): the order the queue drains in',
  })
  helpQueue(@Ctx() { em, services }: Context): Promise<DialogRecord[]> {
    return services.dialogQueries.helpQueue(em);
  }

  @Authorized(...ALL_ROLES)
  @Query(() => QueueStats, {
    description: 'the Help queue and operator capacity now, for one group or the whole server',
  })
  queueStats(
    @Arg('groupId', () => ID, {
      nullable: true,
      description:
        'a group: its dialogs waiting in Help and its ONLINE members; omitted: the whole Help queue and every ONLINE operator. NOT_FOUND for an unknown group',
    })
    groupId: string | null,
    @Ctx() { em, services }: Context,
  ): Promise<QueueStats> {
    return services.dialogQueries.queueStats(em, groupId ?? null);
  }

  @FieldResolver(() => Scenario, {
    nullable: true,
    description: 'the scenario given to startDialog, also once deleted (deletedAt set); null when none was given',
  })
  scenario(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<ScenarioRecord | null> {
    return dialog.scenarioId ? loaders.scenarioById.load(dialog.scenarioId) : Promise.resolve(null);
  }

  @FieldResolver(() => Group, {
    nullable: true,
    description:
      'the group the dialog was last aimed at, kept while queued and after close (its SL targets apply); null when no group was named',
  })
  group(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<GroupRecord | null> {
    return dialog.groupId ? loaders.groupById.load(dialog.groupId) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true, description: 'who holds the dialog; once closed, who held it when it closed' })
  operator(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return dialog.operatorId ? loaders.operatorById.load(dialog.operatorId) : Promise.resolve(null);
  }

  @FieldResolver(() => SlTimer, {
    nullable: true,
    description: 'the running SL clock, if the dialog is waiting for an operator reply',
  })
  slTimer(@Root() dialog: DialogRecord, @Ctx() { services }: Context): SlTimer | null {
    return slTimerAt({ kind: dialog.slKind, startedAt: dialog.slStartedAt, deadline: dialog.slDeadline }, services.clock.now());
  }

  @FieldResolver(() => Int, {
    description:
      "the dialogEvents stream's latest sequence when read: subscribe with after = this to miss nothing (read with the dialog's row; on mutation results, just after the commit)",
  })
  eventSequence(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): number | Promise<number> {
    return dialog.eventSeq ?? loaders.topicSequence.load(topics.dialog(dialog.id));
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description: "1-based place in the Help queue's drain order while QUEUED; null otherwise",
  })
  async queuePosition(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<number | null> {
    if (dialog.status !== DialogStatus.QUEUED) return null;
    return (await loaders.queuePositionOf.load(dialog.id))?.position ?? null;
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      "expected seconds until an operator takes it, while QUEUED, from the queue's recent drain rate; null when unknown",
  })
  async estimatedWaitSec(@Root() dialog: DialogRecord, @Ctx() { loaders, services }: Context): Promise<number | null> {
    if (dialog.status !== DialogStatus.QUEUED) return null;
    const place = await loaders.queuePositionOf.load(dialog.id);
    if (!place) return null;
    const departures = await loaders.leftQueueSince.load(windowStart(services.clock.now()).toISOString());
    return estimatedWait(place.position, departures);
  }

  @FieldResolver(() => [Message], { description: 'oldest first; with last, only the newest `last`' })
  messages(
    @Root() dialog: DialogRecord,
    @Arg('last', () => Int, { nullable: true, description: `at most ${MAX_LAST_MESSAGES}` }) last: number | null,
    @Ctx() { loaders }: Context,
  ): Promise<MessageRecord[]> {
    if (isConcealed(dialog)) return Promise.resolve([]);
    if (last == null) return loaders.messagesOfDialog.load(dialog.id);
    intInRange('last', last, 0, MAX_LAST_MESSAGES);
    return loaders.newestMessagesOfDialog.load(messagesKey(last, dialog.id));
  }

  @FieldResolver(() => Message, { nullable: true, description: 'the newest message (null: none yet)' })
  lastMessage(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<MessageRecord | null> {
    if (isConcealed(dialog)) return Promise.resolve(null);
    return loaders.lastMessageOfDialog.load(dialog.id);
  }

  @FieldResolver(() => Int, { description: 'messages of every author' })
  messageCount(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<number> {
    if (isConcealed(dialog)) return Promise.resolve(0);
    return loaders.messageCountOfDialog.load(dialog.id);
  }

  @FieldResolver(() => Int, {
    description: "client messages after the calling operator's read marker (markDialogRead); 0 for callers without an operator",
  })
  unreadCount(@Root() dialog: DialogRecord, @Ctx() { loaders, viewer }: Context): Promise<number> {
    const operatorId = viewer?.operatorId ?? null;
    if (operatorId === null || isConcealed(dialog)) return Promise.resolve(0);
    return loaders.unreadCount.load(unreadKey(operatorId, dialog.id));
  }

  @FieldResolver(() => [DialogTransfer], { description: 'every routing decision about this dialog, oldest first' })
  transfers(@Root() dialog: DialogRecord, @Ctx() { loaders }: Context): Promise<TransferRecord[]> {
    if (isConcealed(dialog)) return Promise.resolve([]);
    return loaders.transfersOfDialog.load(dialog.id);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, { description: 'ADMIN, SUPERVISOR, INTEGRATION: a new dialog with the bot' })
  async startDialog(
    @Arg('input', () => StartDialogInput, {
      description:
        'who the client is and which scenario; with the externalId of an open dialog: CONFLICT (extensions.dialogId names it)',
    })
    input: StartDialogInput,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return ctx.services.dialogs.start(ctx.em, ctx.viewer!, input, idempotencyKey);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Message, {
    description:
      "ADMIN, SUPERVISOR, INTEGRATION: the client's (or the bot's) message, as relayed by the bot runtime. A client message after an operator reply starts the next-response SL clock. CONFLICT (reason DIALOG_CLOSED) on a closed dialog",
  })
  async postClientMessage(
    @Arg('dialogId', () => ID, { description: 'the dialog; NOT_FOUND if unknown' }) dialogId: string,
    @Arg('text', () => String, { description: '1 to 10,000 characters, not only whitespace' }) text: string,
    @Arg('author', () => MessageAuthor, { nullable: true, description: 'CLIENT (default) or BOT' }) author: MessageAuthor | null,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<MessageRecord> {
    const id = await ctx.services.dialogs.postClientMessage(
      ctx.em,
      ctx.viewer!,
      dialogId,
      text,
      author ?? MessageAuthor.CLIENT,
      idempotencyKey,
    );
    return reloadMessage(ctx, id);
  }

  @Authorized(...HANDLERS)
  @Mutation(() => Dialog, {
    description:
      "the Result block's 'Transfer to operator', or an operator handing a dialog on (an OPERATOR does not get it back). Every role; an OPERATOR only for dialogs assigned to them. Falls back to any available operator, then the Help queue",
  })
  async transferDialog(
    @Arg('dialogId', () => ID, {
      description:
        'the dialog; an OPERATOR may transfer only dialogs assigned to them (else FORBIDDEN); CONFLICT (reason DIALOG_CLOSED) once closed',
    })
    dialogId: string,
    @Arg('to', () => TransferTarget, {
      description:
        'where to: a group, an operator, or both (at least one, else BAD_USER_INPUT); a target that does not exist is NOT_FOUND',
    })
    to: TransferTarget,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return ctx.services.dialogs.transfer(ctx.em, ctx.viewer!, dialogId, to, idempotencyKey);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, {
    description:
      "ADMIN, SUPERVISOR, INTEGRATION: the bot could not continue: route to the scenario's fallback group (without one, to any available operator, then Help)",
  })
  async reportBotFailure(
    @Arg('dialogId', () => ID, { description: 'a dialog still with the bot; otherwise CONFLICT (reason NOT_WITH_BOT)' })
    dialogId: string,
    @Arg('reason', () => String, {
      nullable: true,
      description: "why the bot gave up, 1 to 1,000 characters; kept as the decision's note",
    })
    reason: string | null,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return ctx.services.dialogs.reportBotFailure(ctx.em, ctx.viewer!, dialogId, reason, idempotencyKey);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, {
    description: "sets an open dialog's priority, 0 to 10 (a higher priority drains from the queue first)",
  })
  setDialogPriority(
    @Arg('dialogId', () => ID, { description: 'the dialog: NOT_FOUND if unknown' }) dialogId: string,
    @Arg('priority', () => Int, { description: '0 to 10' }) priority: number,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return ctx.services.dialogs.setPriority(ctx.em, dialogId, priority);
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Message, {
    description:
      "ADMIN, SUPERVISOR, OPERATOR: an operator's reply. The assigned operator's reply stops the running SL clock; staff replies reach the client but leave it running",
  })
  async sendMessage(
    @Arg('dialogId', () => ID, {
      description:
        'an OPERATOR: a dialog assigned to them (else FORBIDDEN); staff: any open dialog handed over. CONFLICT with reason NOT_WITH_BOT while still with the bot, DIALOG_CLOSED once closed',
    })
    dialogId: string,
    @Arg('text', () => String, { description: '1 to 10,000 characters, not only whitespace' }) text: string,
    @Ctx() ctx: Context,
  ): Promise<MessageRecord> {
    return reloadMessage(ctx, await ctx.services.dialogs.sendMessage(ctx.em, ctx.viewer!, dialogId, text));
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Dialog, {
    description:
      'ADMIN, SUPERVISOR, OPERATOR (with an operator profile): an operator takes a dialog from the Help queue, within their maxDialogs',
  })
  async takeDialog(
    @Arg('dialogId', () => ID, {
      description:
        'a dialog in the Help queue. CONFLICT with reason NOT_QUEUED when it is no longer there, NOT_ONLINE when the caller is not ONLINE, AT_CAPACITY at maxDialogs; BAD_USER_INPUT for a caller without an operator profile',
    })
    dialogId: string,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return reload(ctx, await ctx.services.dialogs.take(ctx.em, ctx.viewer!, dialogId));
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Dialog, { description: "moves the caller's read marker to messageId (default: the newest message)" })
  async markDialogRead(
    @Arg('dialogId', () => ID, { description: 'a dialog the caller may see: NOT_FOUND if unknown, FORBIDDEN if not' })
    dialogId: string,
    @Arg('messageId', () => ID, { nullable: true, description: "one of the dialog's messages; the marker never moves back" })
    messageId: string | null,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    await ctx.services.readMarkers.markRead(ctx.em, ctx.viewer!, dialogId, messageId ?? null);
    return reload(ctx, dialogId);
  }

  @Authorized(...HANDLERS)
  @Mutation(() => Dialog, {
    description:
      "ends the dialog and stops its SL clock; the operator's freed slot drains the Help queue. An OPERATOR may close only dialogs assigned to them. Closing a closed dialog returns it unchanged",
  })
  async closeDialog(
    @Arg('dialogId', () => ID, { description: 'the dialog; NOT_FOUND if unknown' }) dialogId: string,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<DialogRecord> {
    return reload(ctx, await ctx.services.dialogs.close(ctx.em, ctx.viewer!, dialogId, idempotencyKey));
  }
}

@Resolver(() => Message)
export class MessageResolver {
  @FieldResolver(() => Operator, {
    nullable: true,
    description:
      'who wrote an OPERATOR message, when it was an operator; null for client and bot messages and for staff without an operator profile',
  })
  operator(@Root() message: MessageRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return message.operatorId ? loaders.operatorById.load(message.operatorId) : Promise.resolve(null);
  }
}

@Resolver(() => DialogTransfer)
export class DialogTransferResolver {
  @FieldResolver(() => Group, {
    nullable: true,
    description: 'the group asked for; null when none was (e.g. a take, or a bot failure without fallback group)',
  })
  requestedGroup(@Root() t: TransferRecord, @Ctx() { loaders }: Context): Promise<GroupRecord | null> {
    return t.requestedGroupId ? loaders.groupById.load(t.requestedGroupId) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true, description: 'the operator asked for; null when none was' })
  requestedOperator(@Root() t: TransferRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return t.requestedOperatorId ? loaders.operatorById.load(t.requestedOperatorId) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, {
    nullable: true,
    description: 'who held the dialog before this decision; null when nobody did (with the bot, or in Help)',
  })
  fromOperator(@Root() t: TransferRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return t.fromOperatorId ? loaders.operatorById.load(t.fromOperatorId) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true, description: 'who received it; null when it went to the Help queue' })
  toOperator(@Root() t: TransferRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return t.toOperatorId ? loaders.operatorById.load(t.toOperatorId) : Promise.resolve(null);
  }
}
