import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Operator } from '../operators/operator.entity.js';
import type { OperatorRecord } from '../operators/operator-record.js';
import { User } from './user.entity.js';
import type { UserRecord } from './user-record.js';
import { CreateUserInput, UpdateUserInput } from './user.inputs.js';

@Resolver(() => User)
export class UserResolver {
  /** The caller's account; null for tokens that belong to no user (API tokens, ADMIN_TOKEN). */
  @Authorized()
  @Query(() => User, {
    nullable: true,
    description: "the caller's account; null for API tokens and ADMIN_TOKEN, which belong to no user",
  })
  me(@Ctx() { loaders, viewer }: Context): Promise<UserRecord | null> {
    return viewer?.userId ? loaders.userById.load(viewer.userId) : Promise.resolve(null);
  }

  @Authorized(...READERS.staff)
  @Query(() => [User], { description: 'ADMIN, SUPERVISOR: every account, oldest first (deleted ones are left out)' })
  users(@Ctx() { em, services }: Context): Promise<UserRecord[]> {
    return services.users.list(em);
  }

  @FieldResolver(() => Operator, { nullable: true, description: 'set when role is OPERATOR' })
  operator(@Root() user: UserRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord | null> {
    return user.role === Role.OPERATOR ? loaders.operatorByUserId.load(user.id) : Promise.resolve(null);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => User, { description: 'ADMIN: role OPERATOR also creates the operator' })
  createUser(
    @Arg('input', () => CreateUserInput, { description: 'the account; a taken email is CONFLICT' }) input: CreateUserInput,
    @Ctx() { em, services }: Context,
  ): Promise<UserRecord> {
    return services.users.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => User, {
    description: "ADMIN: changes an account's email or names; NOT_FOUND for an unknown id, CONFLICT for a taken email",
  })
  updateUser(
    @Arg('id', () => ID, { description: 'the user to change' }) id: string,
    @Arg('input', () => UpdateUserInput, { description: 'the changes; omitted fields keep their value' }) input: UpdateUserInput,
    @Ctx() { em, services }: Context,
  ): Promise<UserRecord> {
    return services.users.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: "ADMIN: ends the user's sessions; an operator's dialogs are routed again" })
  deleteUser(
    @Arg('id', () => ID, { description: 'the user to delete (soft delete: the email becomes free again); NOT_FOUND if unknown' })
    id: string,
    @Ctx() { em, services }: Context,
  ): Promise<string> {
    return services.users.delete(em, id);
  }
}
