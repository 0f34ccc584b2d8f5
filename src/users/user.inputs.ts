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
