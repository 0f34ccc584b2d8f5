import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Group } from '../groups/group.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { DialogTransfer } from '../routing/dialog-transfer.entity.js';
import { Scenario } from '../scenarios/scenario.entity.js';
import { NotFoundError } from '../shared/errors.js';
import { SlTimer, slTimerAt } from '../sl/sl-timer.type.js';
import { DialogStatus, MessageAuthor } from './dialog-enums.js';
import { estimatedWait, windowStart } from './queue-position.js';
import { Dialog } from './dialog.entity.js';
import { DialogFilter, StartDialogInput, TransferTarget } from './dialog.inputs.js';
import { DialogConnection, QueueStats } from './dialog.types.js';
import { Message } from './message.entity.js';

const ALL_ROLES = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const BOT_RUNTIME = [Role.SUPERVISOR, Role.INTEGRATION];
const HANDLERS = [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION];
const OPERATORS = [Role.SUPERVISOR, Role.OPERATOR];

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
  @Query(() => DialogConnection)
  dialogs(
    @Arg('filter', () => DialogFilter, { nullable: true }) filter: DialogFilter | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<DialogConnection> {
    return services.dialogQueries.connection(em, viewer!, filter, first, after);
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

  @FieldResolver(() => Int, {
    nullable: true,
    description: "1-based place in the Help queue's drain order while QUEUED; null otherwise",
  })
  async queuePosition(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<number | null> {
    if (dialog.status !== DialogStatus.QUEUED) return null;
    return (await loaders.queuePositionOf.load(dialog.id))?.position ?? null;
  }

  @FieldResolver(() => Int, {
    nullable: true,
    description:
      "expected seconds until an operator takes it, while QUEUED, from the queue's recent drain rate; null when unknown",
  })
  async estimatedWaitSec(@Root() dialog: Dialog, @Ctx() { loaders, services }: Context): Promise<number | null> {
    if (dialog.status !== DialogStatus.QUEUED) return null;
    const place = await loaders.queuePositionOf.load(dialog.id);
    if (!place) return null;
    const departures = await loaders.leftQueueSince.load(windowStart(services.clock.now()).toISOString());
    return estimatedWait(place.position, departures);
  }

  @FieldResolver(() => [Message])
  messages(@Root() dialog: Dialog, @Ctx() { loaders }: Context): Promise<Message[]> {
    return loaders.messagesOfDialog.load(dialog.id);
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

  @Authorized(...BOT_RUNTIME)
  @Mutation(() => Dialog, {
    description: "sets an open dialog's priority, 0 to 10 (a higher priority drains from the queue first)",
  })
  setDialogPriority(
    @Arg('dialogId', () => ID) dialogId: string,
    @Arg('priority', () => Int, { description: '0 to 10' }) priority: number,
    @Ctx() ctx: Context,
  ): Promise<Dialog> {
    return ctx.services.dialogs.setPriority(ctx.em, dialogId, priority);
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
