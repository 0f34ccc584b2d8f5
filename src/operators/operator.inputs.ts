import { Field, ID, InputType, Int } from 'type-graphql';

@InputType({ description: 'A new operator and their login account. A taken email is CONFLICT (field email).' })
export class CreateOperatorInput {
  @Field(() => String, { description: 'given name, 1 to 200 characters after trimming' })
  firstName!: string;

  @Field(() => String, { description: 'family name, 1 to 200 characters after trimming' })
  lastName!: string;

  @Field(() => String, { description: 'the login name: one @, no spaces, a dot in the domain; stored trimmed and lower-cased' })
  email!: string;

  @Field(() => [ID], { nullable: true, description: 'the groups to join; an unknown group is NOT_FOUND (field groupIds)' })
  groupIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'default 300' })
  maxDialogs?: number | null;

  @Field(() => Int, { nullable: true, description: 'default 0 = never' })
  autoLogoutSec?: number | null;

  @Field(() => String, {
    nullable: true,
    description: '10 to 1,024 characters, not the email; omitted: no login until setPassword',
  })
  password?: string | null;
}

@InputType({ description: 'Changes to an operator; omitted (or null) fields keep their value.' })
export class UpdateOperatorInput {
  @Field(() => String, { nullable: true, description: 'given name, 1 to 200 characters after trimming' })
  firstName?: string | null;

  @Field(() => String, { nullable: true, description: 'family name, 1 to 200 characters after trimming' })
  lastName?: string | null;

  @Field(() => String, { nullable: true, description: 'the new login name; a taken email is CONFLICT' })
  email?: string | null;

  @Field(() => [ID], { nullable: true, description: "replaces the operator's groups" })
  groupIds?: string[] | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'new capacity, 1 to 10,000; below the dialogs they hold now: CONFLICT. A higher one drains the Help queue into it',
  })
  maxDialogs?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'seconds of inactivity before an ONLINE operator is set OFFLINE, 0 (never) to 604,800',
  })
  autoLogoutSec?: number | null;
}
