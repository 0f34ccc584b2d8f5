import { Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class CreateGroupInput {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  slFirstResponseSec!: number;

  @Field(() => Int)
  slNextResponseSec!: number;

  @Field(() => [ID], { nullable: true })
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

@InputType()
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => Int, { nullable: true })
  slFirstResponseSec?: number | null;

  @Field(() => Int, { nullable: true })
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
