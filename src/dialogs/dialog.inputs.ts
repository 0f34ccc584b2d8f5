import { Field, ID, InputType } from 'type-graphql';
import { DialogStatus } from './dialog-enums.js';

@InputType()
export class StartDialogInput {
  @Field(() => String, { nullable: true })
  externalId?: string | null;

  @Field(() => ID, { nullable: true })
  scenarioId?: string | null;

  @Field(() => String, { nullable: true })
  clientName?: string | null;
}

@InputType({ description: 'a group, an operator, or both (operator first, then the group)' })
export class TransferTarget {
  @Field(() => ID, { nullable: true })
  groupId?: string | null;

  @Field(() => ID, { nullable: true })
  operatorId?: string | null;

  @Field(() => String, { nullable: true, description: "the bot's chat id given to startDialog" })
  externalId?: string | null;
}

@InputType({
  description:
    'all conditions must hold; operatorId matches dialogs assigned to that operator now and closed dialogs they held when closing (add status to tell them apart)',
})
export class DialogFilter {
  @Field(() => [DialogStatus], { nullable: true })
  status?: DialogStatus[] | null;

  @Field(() => ID, { nullable: true })
  groupId?: string | null;

  @Field(() => ID, { nullable: true })
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
