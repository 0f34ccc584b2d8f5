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

  @Field(() => Int, {
    nullable: true,
    description: 'no-answer re-routing after this many seconds, 0 (default) = off; at most 86400',
  })
  reassignAfterSec?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'most dialogs of the group waiting in Help, 0 (default) = no limit; at most 100000',
  })
  maxQueued?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'returning-client window in seconds, 0 (default) = off; at most 2592000 (30 days)',
  })
  preferLastOperatorSec?: number | null;
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

  @Field(() => Int, {
    nullable: true,
    description: 'no-answer re-routing after this many seconds, 0 (default) = off; at most 86400',
  })
  reassignAfterSec?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'most dialogs of the group waiting in Help, 0 (default) = no limit; at most 100000',
  })
  maxQueued?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'returning-client window in seconds, 0 (default) = off; at most 2592000 (30 days)',
  })
  preferLastOperatorSec?: number | null;
}
