import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class SlReport {
  @Field(() => Date)
  from!: Date;

  @Field(() => Date)
  to!: Date;

  @Field(() => Int, { description: 'dialogs that reached operators in the period' })
  sessions!: number;

  @Field(() => Int)
  firstResponsesWithinSl!: number;

  @Field(() => Float, { nullable: true, description: 'null when there were no sessions' })
  firstResponseSlPercent!: number | null;

  @Field(() => Int, { description: 'subsequent-response clocks counted (answered, or overdue)' })
  nextResponses!: number;

  @Field(() => Int)
  nextResponsesWithinSl!: number;

  @Field(() => Float, { nullable: true, description: 'null when there were no counted subsequent responses' })
  nextResponseSlPercent!: number | null;

  @Field(() => Float, { nullable: true, description: 'over answered first responses' })
  avgFirstResponseSec!: number | null;
}
