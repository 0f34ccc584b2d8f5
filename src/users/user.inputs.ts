import { Field, InputType } from 'type-graphql';
import { Role } from '../auth/role.js';

@InputType()
export class CreateUserInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  firstName!: string;

  @Field(() => String)
  lastName!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { nullable: true })
  password?: string | null;
}

/** Omitted (or null) fields keep their value. */
@InputType()
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  email?: string | null;

  @Field(() => String, { nullable: true })
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  lastName?: string | null;
}
