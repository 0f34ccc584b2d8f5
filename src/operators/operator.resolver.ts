import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { mayReadOperatorEmail, READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { ForbiddenError } from '../shared/errors.js';
import { Group } from '../groups/group.entity.js';
import type { User } from '../users/user.entity.js';
import { Operator } from './operator.entity.js';
import { CreateOperatorInput, UpdateOperatorInput } from './operator.inputs.js';
import { OperatorStatus } from './operator-status.js';

async function userOf(operator: Operator, { loaders }: Context): Promise<User> {
  const user = await loaders.userById.load(operator.user.id);
  if (!user) throw new Error(`operator ${operator.id} has no user`);
  return user;
}

@Resolver(() => Operator)
export class OperatorResolver {
  @Authorized(...READERS.operators)
  @Query(() => [Operator])
  operators(
    @Arg('groupId', () => ID, { nullable: true }) groupId: string | null,
    @Arg('status', () => OperatorStatus, { nullable: true }) status: OperatorStatus | null,
    @Ctx() { em, services }: Context,
  ): Promise<Operator[]> {
    return services.operators.list(em, { groupId, status });
  }

  @Authorized(...READERS.operators)
  @Query(() => Operator, { nullable: true })
  operator(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<Operator | null> {
    return services.operators.find(em, id);
  }

  @FieldResolver(() => String)
  async firstName(@Root() operator: Operator, @Ctx() ctx: Context): Promise<string> {
    return (await userOf(operator, ctx)).firstName;
  }

  @FieldResolver(() => String)
  async lastName(@Root() operator: Operator, @Ctx() ctx: Context): Promise<string> {
    return (await userOf(operator, ctx)).lastName;
  }

  @FieldResolver(() => String, {
    description: 'ADMIN, SUPERVISOR and the operator themself (also in their login answer); FORBIDDEN for others',
  })
  async email(@Root() operator: Operator, @Ctx() ctx: Context): Promise<string> {
    if (!mayReadOperatorEmail(ctx, operator)) {
      throw new ForbiddenError("Only staff and the operator themself read an operator's email");
    }
    return (await userOf(operator, ctx)).email;
  }

  @FieldResolver(() => [Group])
  groups(@Root() operator: Operator, @Ctx() { loaders }: Context): Promise<Group[]> {
    return loaders.groupsOfOperator.load(operator.id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Operator)
  createOperator(
    @Arg('input', () => CreateOperatorInput) input: CreateOperatorInput,
    @Ctx() { em, services }: Context,
  ): Promise<Operator> {
    return services.operators.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Operator)
  updateOperator(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateOperatorInput) input: UpdateOperatorInput,
    @Ctx() { em, services }: Context,
  ): Promise<Operator> {
    return services.operators.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID)
  deleteOperator(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<string> {
    return services.operators.delete(em, id);
  }

  @Authorized(Role.SUPERVISOR, Role.OPERATOR)
  @Mutation(() => Operator, {
    description:
      "operatorId defaults to the caller's own operator; another's needs ADMIN or SUPERVISOR; reason is kept while AWAY",
  })
  setOperatorStatus(
    @Arg('status', () => OperatorStatus) status: OperatorStatus,
    @Arg('operatorId', () => ID, { nullable: true }) operatorId: string | null,
    @Arg('reason', () => String, { nullable: true, description: 'shown as awayReason while AWAY (at most 200 characters)' })
    reason: string | null,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<Operator> {
    return services.presence.setStatus(em, viewer!, status, operatorId, reason);
  }
}
