import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { DialogTransfer } from '../routing/dialog-transfer.entity.js';
import { Scenario } from '../scenarios/scenario.entity.js';
import { messagesKey, unreadKey } from '../loaders.js';
import { NotFoundError } from '../shared/errors.js';
import { intInRange } from '../shared/validate.js';
import { SlTimer, slTimerAt } from '../sl/sl-timer.type.js';
import { DialogOrder, MessageAuthor } from './dialog-enums.js';
import { Dialog } from './dialog.entity.js';
import { DialogFilter, StartDialogInput, TransferTarget } from './dialog.inputs.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './dialog.queries.js';
import { DialogConnection, QueueStats } from './dialog.types.js';
import { Message } from './message.entity.js';

const ALL_ROLES = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const BOT_RUNTIME = [Role.SUPERVISOR, Role.INTEGRATION];
const HANDLERS = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const OPERATORS = [Role.SUPERVISOR, Role.OPERATOR];

/** The most `messages(last)` returns per dialog; without last, the whole history. */
const MAX_LAST_MESSAGES = 200;

const idempotencyKeyArg = { nullable: true, description: 'a retry with the same key returns the first result' } as const;

/** Reads a dialog after a mutation committed. */
async function reload(ctx: Context, id: string): Promise<Dialog> {
  const dialog = await ctx.em.findOne(Dialog, { id }, { refresh: true });
  if (!dialog) throw new NotFoundError('Dialog', id, 'dialogId');
  return dialog;
}

async function reloadMessage(ctx: Context, id: string): Promise<Message> {
  const message = await ctx.em.findOne(Message, { id }, { refresh: true });
  if (!message) throw new NotFoundError('Message', id);
  return message;
}

@Resolver(() => Dialog)
export class DialogResolver {
  @Authorized(...ALL_ROLES)
  @Query(() => Dialog, { nullable: true })
  dialog(@Arg('id', () => ID) id: string, @Ctx() { em, services, viewer }: Context): Promise<Dialog | null> {
    return services.dialogQueries.find(em, viewer!, id);
  }

  @Authorized(...ALL_ROLES)
  @Query(() => DialogConnection, {
    description: 'a page of the dialogs the caller may see: first/after pages forward, last/before backward',
  })
  dialogs(
    @Arg('filter', () => DialogFilter, { nullable: true }) filter: DialogFilter | null,
    @Arg('first', () => Int, { nullable: true, description: `page size, 0..${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})` })
    first: number | null,
    @Arg('after', () => String, { nullable: true, description: "the dialogs after this cursor (an edge's or endCursor)" })
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
  @Query(() => [Dialog], { description: 'QUEUED dialogs, most urgent first' })
  helpQueue(@Ctx() { em, services }: Context): Promise<Dialog[]> {
    return services.dialogQueries.helpQueue(em);
  }

  @Authorized(...ALL_ROLES)
  @Query(() => QueueStats)
  queueStats(
    @Arg('groupId', () => ID, { nullable: true }) groupId: string | null,
    @Ctx() { em, services }: Context,
  ): Promise<QueueStats> {
    return services.dialogQueries.queueStats(em, groupId ?? null);
  }

  @FieldResolver(() => Scenario, { nullable: true })
  scenario(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<Scenario | null> {
    return dialog.scenario ? loaders.scenarioById.load(dialog.scenario.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Group, { nullable: true })
  group(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<Group | null> {
    return dialog.group ? loaders.groupById.load(dialog.group.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true, description: 'who holds the dialog; once closed, who held it when it closed' })
  operator(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<Operator | null> {
    return dialog.operator ? loaders.operatorById.load(dialog.operator.id) : Promise.resolve(null);
  }

  @FieldResolver(() => SlTimer, {
    nullable: true,
    description: 'the running SL clock, if the dialog is waiting for an operator reply',
  })
  slTimer(@Root() dialog: Dialog, @Ctx() { services }: Context): SlTimer | null {
    return slTimerAt({ kind: dialog.slKind, startedAt: dialog.slStartedAt, deadline: dialog.slDeadline }, services.clock.now());
  }

  @FieldResolver(() => [Message], { description: 'oldest first; with last, only the newest `last`' })
  messages(
    @Root() dialog: Dialog,
    @Arg('last', () => Int, { nullable: true, description: `at most ${MAX_LAST_MESSAGES}` }) last: number | null,
    @Ctx() { loaders }: Context,
  ): Promise<Message[]> {
    if (last == null) return loaders.messagesOfDialog.load(dialog.id);
    intInRange('last', last, 0, MAX_LAST_MESSAGES);
    return loaders.newestMessagesOfDialog.load(messagesKey(last, dialog.id));
  }

  @FieldResolver(() => Message, { nullable: true, description: 'the newest message (null: none yet)' })
  lastMessage(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<Message | null> {
    return loaders.lastMessageOfDialog.load(dialog.id);
  }

  @FieldResolver(() => Int, { description: 'messages of every author' })
  messageCount(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<number> {
    return loaders.messageCountOfDialog.load(dialog.id);
  }

  @FieldResolver(() => Int, {
    description: "client messages after the calling operator's read marker (markDialogRead); 0 for callers without an operator",
  })
  unreadCount(@Root() dialog: Dialog, @Ctx() { loaders, viewer }: Context): Promise<number> {
    const operatorId = viewer?.operatorId ?? null;
    return operatorId === null ? Promise.resolve(0) : loaders.unreadCount.load(unreadKey(operatorId, dialog.id));
  }

  @FieldResolver(() => [DialogTransfer])
  transfers(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<DialogTransfer[]> {
    return loaders.transfersOfDialog.load(dialog.id);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, { description: 'a new dialog with the bot' })
  async startDialog(
    @Arg('input', () => StartDialogInput) input: StartDialogInput,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    return ctx.services.dialogs.start(ctx.em, ctx.viewer!, input, idempotencyKey);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Message)
  async postClientMessage(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('text', () => String) text: string,
    @Arg('author', () => MessageAuthor, { nullable: true, description: 'CLIENT (default) or BOT' }) author: MessageAuthor | null,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Message> {
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
  @Mutation(() => Dialog, { description: "the Result block's 'Transfer to operator', or an operator handing a dialog on" })
  async transferDialog(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('to', () => TransferTarget) to: TransferTarget,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    return ctx.services.dialogs.transfer(ctx.em, ctx.viewer!, dialogId, to, idempotencyKey);
  }

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, { description: "the bot could not continue: route to the scenario's fallback group" })
  async reportBotFailure(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    return ctx.services.dialogs.reportBotFailure(ctx.em, ctx.viewer!, dialogId, reason, idempotencyKey);
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Message, { description: "an operator's reply" })
  async sendMessage(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('text', () => String) text: string,
    @Ctx() ctx: Context,
  ): Promise<Message> {
    return reloadMessage(ctx, await ctx.services.dialogs.sendMessage(ctx.em, ctx.viewer!, dialogId, text));
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Dialog, { description: 'an operator takes a dialog from the Help queue' })
  async takeDialog(@Arg('dialogId', () => ID) dialogId: string, @Ctx() ctx: Context): Promise<Dialog> {
    return reload(ctx, await ctx.services.dialogs.take(ctx.em, ctx.viewer!, dialogId));
  }

  @Authorized(...OPERATORS)
  @Mutation(() => Dialog, { description: "moves the caller's read marker to messageId (default: the newest message)" })
  async markDialogRead(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('messageId', () => ID, { nullable: true, description: "one of the dialog's messages; the marker never moves back" })
    messageId: string | null,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    await ctx.services.readMarkers.markRead(ctx.em, ctx.viewer!, dialogId, messageId ?? null);
    return reload(ctx, dialogId);
  }

  @Authorized(...HANDLERS)
  @Mutation(() => Dialog)
  async closeDialog(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('idempotencyKey', () => String, idempotencyKeyArg) idempotencyKey: string | null,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    return reload(ctx, await ctx.services.dialogs.close(ctx.em, ctx.viewer!, dialogId, idempotencyKey));
  }
}

@Resolver(() => Message)
export class MessageResolver {
  @FieldResolver(() => Operator, { nullable: true })
  operator(@Root() message: Message, @Ctx() { loaders }: Context): Promise<Operator | null> {
    return message.operator ? loaders.operatorById.load(message.operator.id) : Promise.resolve(null);
  }
}

@Resolver(() => DialogTransfer)
export class DialogTransferResolver {
  @FieldResolver(() => Group, { nullable: true })
  requestedGroup(@Root() t: DialogTransfer, @Ctx() { loaders }: Context): Promise<Group | null> {
    return t.requestedGroup ? loaders.groupById.load(t.requestedGroup.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true })
  requestedOperator(@Root() t: DialogTransfer, @Ctx() { loaders }: Context): Promise<Operator | null> {
    return t.requestedOperator ? loaders.operatorById.load(t.requestedOperator.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true })
  fromOperator(@Root() t: DialogTransfer, @Ctx() { loaders }: Context): Promise<Operator | null> {
    return t.fromOperator ? loaders.operatorById.load(t.fromOperator.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Operator, { nullable: true })
  toOperator(@Root() t: DialogTransfer, @Ctx() { loaders }: Context): Promise<Operator | null> {
    return t.toOperator ? loaders.operatorById.load(t.toOperator.id) : Promise.resolve(null);
  }
}
