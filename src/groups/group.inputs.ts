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
}

@InputType()
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => Int, { nullable: true })
  slFirstResponseSec?: number | null;

  @Field(() => Int, { nullable: true })
  slNextResponseSec?: number | null;
}
