import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'How many operators a group needs to meet an SL target, by the Erlang C model adjusted for dialogs handled at once.',
})
export class StaffingForecast {
  @Field(() => ID, { nullable: true, description: 'the group forecast; null: the whole server' })
  groupId!: string | null;

  @Field(() => Float, { description: "dialogs per hour used: the one given, or the last hour's arrivals" })
  arrivalsPerHour!: number;

  @Field(() => Float, { description: "mean handle time per dialog used, seconds: the one given, or the last hour's" })
  avgHandleTimeSec!: number;

  @Field(() => Float, { description: 'dialogs one operator handles at once' })
  concurrency!: number;

  @Field(() => Float, { description: 'the SL target used, as a percentage answered within targetSec' })
  targetPercent!: number;

  @Field(() => Int, { description: 'the SL target time used, seconds' })
  targetSec!: number;

  @Field(() => Int, { description: 'the fewest operators that reach the target' })
  requiredOperators!: number;

  @Field(() => Float, { description: 'the share answered within targetSec with requiredOperators, x100' })
  expectedSlPercent!: number;

  @Field(() => Int, { description: "operators ONLINE now (the group's members, with groupId)" })
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
  @Field(() => ID, {
    nullable: true,
    description: 'the group to forecast; omitted: the whole server. NOT_FOUND for an unknown group',
  })
  groupId?: string | null;

  @Field(() => Float, { nullable: true, description: "dialogs per hour, 0 to 1,000,000; default: the last hour's arrivals" })
  arrivalsPerHour?: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      "mean seconds from assignment to close, above 0 and at most 86,400; default: the last hour's (required when dialogs arrived but none closed)",
  })
  avgHandleTimeSec?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'dialogs one operator handles at once, 1 to 1,000; default: the mean load of ONLINE members holding any, else 1',
  })
  concurrency?: number | null;

  @Field(() => Float, { nullable: true, description: 'default 80' })
  targetPercent?: number | null;

  @Field(() => Int, { nullable: true, description: "default: the group's slFirstResponseSec" })
  targetSec?: number | null;
}
