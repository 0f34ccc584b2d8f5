import { Field, ID, InputType, Int } from 'type-graphql';
import { DialogStatus } from './dialog-enums.js';

@InputType({ description: 'A new dialog: who the client is, and which bot scenario.' })
export class StartDialogInput {
  @Field(() => String, {
    nullable: true,
    description: "the bot's own chat id, up to 200 characters (trimmed); one open dialog per externalId",
  })
  externalId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'the scenario the bot runs; its fallback group takes the dialog on reportBotFailure. NOT_FOUND for an unknown or deleted scenario',
  })
  scenarioId?: string | null;

  @Field(() => String, { nullable: true, description: "the client's display name, up to 200 characters" })
  clientName?: string | null;

  @Field(() => Int, { nullable: true, description: '0 (default) to 10; a higher priority drains from the queue first' })
  priority?: number | null;
}

@InputType({ description: 'a group, an operator, or both (operator first, then the group)' })
export class TransferTarget {
  @Field(() => ID, { nullable: true, description: 'a group: its least-loaded ONLINE member below maxDialogs' })
  groupId?: string | null;

  @Field(() => ID, { nullable: true, description: 'an operator: taken when ONLINE and below maxDialogs (tried before groupId)' })
  operatorId?: string | null;
}

@InputType({
  description:
    'all conditions must hold; operatorId matches dialogs assigned to that operator now and closed dialogs they held when closing (add status to tell them apart)',
})
export class DialogFilter {
  @Field(() => [DialogStatus], { nullable: true, description: 'any of these statuses; omitted or empty: all' })
  status?: DialogStatus[] | null;

  @Field(() => ID, { nullable: true, description: 'dialogs last aimed at this group' })
  groupId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'dialogs assigned to this operator now, and closed dialogs they held when closing',
  })
  operatorId?: string | null;

  @Field(() => String, { nullable: true, description: "the bot's chat id given to startDialog" })
  externalId?: string | null;

  @Field(() => ID, { nullable: true, description: 'dialogs started with this scenario' })
  scenarioId?: string | null;

  @Field(() => Date, { nullable: true, description: 'dialogs created at or after this time' })
  createdFrom?: Date | null;

  @Field(() => Date, { nullable: true, description: 'dialogs created before this time (createdFrom ≤ createdAt < createdTo)' })
  createdTo?: Date | null;
}
