import { Field, ID, InputType, Int } from 'type-graphql';

@InputType({ description: 'A new group. A taken name is CONFLICT (field name).' })
export class CreateGroupInput {
  @Field(() => String, { description: '1 to 200 characters after trimming; unique among existing groups, ignoring case' })
  name!: string;

  @Field(() => Int, { description: 'first-response SL target, seconds, 1 to 86,400' })
  slFirstResponseSec!: number;

  @Field(() => Int, { description: 'subsequent-response SL target, seconds, 1 to 86,400' })
  slNextResponseSec!: number;

  @Field(() => [ID], { nullable: true, description: 'initial members; an unknown operator is NOT_FOUND (field operatorIds)' })
  operatorIds?: string[] | null;
}

@InputType({
  description:
    'Changes to a group; omitted (or null) fields keep their value. New targets apply to SL clocks started afterwards.',
})
export class UpdateGroupInput {
  @Field(() => String, { nullable: true, description: '1 to 200 characters after trimming; a taken name is CONFLICT' })
  name?: string | null;

  @Field(() => Int, { nullable: true, description: 'first-response SL target, seconds, 1 to 86,400' })
  slFirstResponseSec?: number | null;

  @Field(() => Int, { nullable: true, description: 'subsequent-response SL target, seconds, 1 to 86,400' })
  slNextResponseSec?: number | null;
}
