import { Field, InputType } from 'type-graphql';
import { Role } from '../auth/role.js';

@InputType({ description: 'A new account. A taken email is CONFLICT (field email).' })
export class CreateUserInput {
  @Field(() => String, {
    description: 'the login name: one @, no spaces, a dot in the domain, at most 254 characters; stored trimmed and lower-cased',
  })
  email!: string;

  @Field(() => String, { description: 'given name, 1 to 200 characters after trimming' })
  firstName!: string;

  @Field(() => String, { description: 'family name, 1 to 200 characters after trimming' })
  lastName!: string;

  @Field(() => Role, {
    description: 'OPERATOR also creates the operator profile with the defaults (maxDialogs 300, auto-logout off)',
  })
  role!: Role;

  @Field(() => String, {
    nullable: true,
    description: '10 to 1,024 characters, not the email; omitted: the account cannot log in until setPassword',
  })
  password?: string | null;
}

/** Omitted (or null) fields keep their value. */
@InputType({ description: 'Changes to an account; omitted (or null) fields keep their value.' })
export class UpdateUserInput {
  @Field(() => String, {
    nullable: true,
    description: 'the new login name (same rules as on creation); a taken email is CONFLICT',
  })
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'given name, 1 to 200 characters after trimming' })
  firstName?: string | null;

  @Field(() => String, { nullable: true, description: 'family name, 1 to 200 characters after trimming' })
  lastName?: string | null;
}
