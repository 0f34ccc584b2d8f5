import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'How many operators a group needs to meet an SL target, by the Erlang C model adjusted for dialogs handled at once.',
})
export class StaffingForecast {
  @Field(() => ID, { nullable: true })
  groupId!: string | null;

  @Field(() => Float)
  arrivalsPerHour!: number;

  @Field(() => Float)
  avgHandleTimeSec!: number;

  @Field(() => Float, { description: 'dialogs one operator handles at once' })
  concurrency!: number;

  @Field(() => Float)
  targetPercent!: number;

  @Field(() => Int)
  targetSec!: number;

  @Field(() => Int, { description: 'the fewest operators that reach the target' })
  requiredOperators!: number;

  @Field(() => Float, { description: 'the share answered within targetSec with requiredOperators, x100' })
  expectedSlPercent!: number;

  @Field(() => Int)
  onlineOperators!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'the share answered within targetSec with the operators online now, x100; null when none are online',
  })
  expectedSlPercentNow!: number | null;

  @Field(() => Float, { description: 'probability that a dialog waits at all with requiredOperators, 0..1' })
  probabilityOfWaiting!: number;

  @Field(() => Float, { description: 'mean wait with requiredOperators, seconds' })
  avgWaitSec!: number;
}

@InputType({ description: "Omitted figures come from the group's live traffic (last hour) and its SL first-response target." })
export class StaffingInput {
  @Field(() => ID, { nullable: true })
  groupId?: string | null;

  @Field(() => Float, { nullable: true })
  arrivalsPerHour?: number | null;

  @Field(() => Float, { nullable: true })
  avgHandleTimeSec?: number | null;

  @Field(() => Float, { nullable: true })
  concurrency?: number | null;

  @Field(() => Float, { nullable: true, description: 'default 80' })
  targetPercent?: number | null;

  @Field(() => Int, { nullable: true, description: "default: the group's slFirstResponseSec" })
  targetSec?: number | null;
}
