import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'Service-level figures over the SL clocks that started in [from, to). A clock is decided when answered or once its deadline passed unanswered.',
})
export class SlReport {
  @Field(() => Date, { description: 'start of the period, inclusive' })
  from!: Date;

  @Field(() => Date, { description: 'end of the period, exclusive' })
  to!: Date;

  @Field(() => Int, { description: 'dialogs that reached operators in the period' })
  sessions!: number;

  @Field(() => Int, { description: 'first responses answered by their deadline' })
  firstResponsesWithinSl!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      'within SL / decided first responses × 100; null when none is decided (answered, or unanswered past the deadline)',
  })
  firstResponseSlPercent!: number | null;

  @Field(() => Int, { description: 'subsequent-response clocks counted (answered, or overdue)' })
  nextResponses!: number;

  @Field(() => Int, { description: 'subsequent responses answered by their deadline' })
  nextResponsesWithinSl!: number;

  @Field(() => Float, {
    nullable: true,
    description: 'within SL / decided subsequent responses × 100; null when none is decided',
  })
  nextResponseSlPercent!: number | null;

  @Field(() => Float, { nullable: true, description: 'over answered first responses' })
  avgFirstResponseSec!: number | null;

  @Field(() => Float, { nullable: true, description: 'over answered subsequent responses' })
  avgNextResponseSec!: number | null;

  @Field(() => Float, { nullable: true, description: '90th percentile of answered first responses, seconds' })
  p90FirstResponseSec!: number | null;

  @Field(() => Int, { description: 'dialogs closed in the period while still waiting for their first operator reply' })
  abandoned!: number;
}
