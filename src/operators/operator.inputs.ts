import { Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class CreateOperatorInput {
  @Field(() => String)
  firstName!: string;

  @Field(() => String)
  lastName!: string;

  @Field(() => String)
  email!: string;

  @Field(() => [ID], { nullable: true })
  groupIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'default 300' })
  maxDialogs?: number | null;

  @Field(() => Int, { nullable: true, description: 'default 0 = never' })
  autoLogoutSec?: number | null;

  @Field(() => String, { nullable: true })
  password?: string | null;
}

@InputType()
export class UpdateOperatorInput {
  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;

  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => [ID], { nullable: true, description: "replaces the operator's groups" })
  groupIds?: string[] | null;

  @Field(() => Int, { nullable: true })
  maxDialogs?: number | null;

  @Field(() => Int, { nullable: true })
  autoLogoutSec?: number | null;
}
