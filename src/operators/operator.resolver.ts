import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { mayReadOperatorEmail, READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { ForbiddenError } from '../shared/errors.js';
import { Group } from '../groups/group.entity.js';
import type { GroupRecord } from '../groups/group-record.js';
import type { UserRecord } from '../users/user-record.js';
import { Operator } from './operator.entity.js';
import type { OperatorRecord } from './operator-record.js';
import { CreateOperatorInput, UpdateOperatorInput } from './operator.inputs.js';
import { OperatorStatus } from './operator-status.js';

async function userOf(operator: OperatorRecord, { loaders }: Context): Promise<UserRecord> {
  const user = await loaders.userById.load(operator.userId);
  if (!user) throw new Error(`operator ${operator.id} has no user`);
  return user;
}

@Resolver(() => Operator)
export class OperatorResolver {
  @Authorized(...READERS.operators)
  @Query(() => [Operator], {
    description: 'operators (not deleted), oldest first; INTEGRATION too, to name them in transfers (but not their email)',
  })
  operators(
    @Arg('groupId', () => ID, { nullable: true, description: "only this group's members" }) groupId: string | null,
    @Arg('status', () => OperatorStatus, { nullable: true, description: 'only operators with this status' })
    status: OperatorStatus | null,
    @Ctx() { em, services }: Context,
  ): Promise<OperatorRecord[]> {
    return services.operators.list(em, { groupId, status });
  }

  @Authorized(...READERS.operators)
  @Query(() => Operator, { nullable: true, description: 'one operator; null when it does not exist or was deleted' })
  operator(
    @Arg('id', () => ID, { description: 'the operator id' }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<OperatorRecord | null> {
    return services.operators.find(em, id);
  }

  @FieldResolver(() => String, { description: 'given name (from their account)' })
  async firstName(@Root() operator: OperatorRecord, @Ctx() ctx: Context): Promise<string> {
    return (await userOf(operator, ctx)).firstName;
  }

  @FieldResolver(() => String, { description: 'family name (from their account)' })
  async lastName(@Root() operator: OperatorRecord, @Ctx() ctx: Context): Promise<string> {
    return (await userOf(operator, ctx)).lastName;
  }

  @FieldResolver(() => String, {
    description: 'ADMIN, SUPERVISOR and the operator themself (also in their login answer); FORBIDDEN for others',
  })
  async email(@Root() operator: OperatorRecord, @Ctx() ctx: Context): Promise<string> {
    if (!mayReadOperatorEmail(ctx, operator)) {
      throw new ForbiddenError("Only staff and the operator themself read an operator's email");
    }
    return (await userOf(operator, ctx)).email;
  }

  @FieldResolver(() => Int, {
    description:
      "the myDialogs stream's latest sequence when read: subscribe with after = this to miss nothing (read with the operator's row)",
  })
  dialogsSequence(@Root() operator: OperatorRecord): number {
    return operator.dialogsSeq;
  }

  @FieldResolver(() => [Group], { description: 'the groups they belong to' })
  groups(@Root() operator: OperatorRecord, @Ctx() { loaders }: Context): Promise<GroupRecord[]> {
    return loaders.groupsOfOperator.load(operator.id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Operator, {
    description: 'ADMIN: a new account with role OPERATOR and its operator profile, OFFLINE; a taken email is CONFLICT',
  })
  createOperator(
    @Arg('input', () => CreateOperatorInput, { description: 'the account, capacity and groups' }) input: CreateOperatorInput,
    @Ctx() { em, services }: Context,
  ): Promise<OperatorRecord> {
    return services.operators.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Operator, {
    description: "ADMIN: changes an operator's account, capacity, auto-logout or groups; NOT_FOUND for an unknown operator",
  })
  updateOperator(
    @Arg('id', () => ID, { description: 'the operator to change' }) id: string,
    @Arg('input', () => UpdateOperatorInput, { description: 'the changes; omitted fields keep their value' })
    input: UpdateOperatorInput,
    @Ctx() { em, services }: Context,
  ): Promise<OperatorRecord> {
    return services.operators.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, {
    description:
      'ADMIN: soft-deletes the operator and their account (the email becomes free again): they go OFFLINE, their dialogs are routed again, their sessions end; returns the id',
  })
  deleteOperator(
    @Arg('id', () => ID, { description: 'the operator to delete; NOT_FOUND if unknown' }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<string> {
    return services.operators.delete(em, id);
  }

  @Authorized(Role.SUPERVISOR, Role.OPERATOR)
  @Mutation(() => Operator, {
    description:
      "ADMIN, SUPERVISOR, OPERATOR: operatorId defaults to the caller's own operator; another's needs ADMIN or SUPERVISOR; reason is kept while AWAY",
  })
  setOperatorStatus(
    @Arg('status', () => OperatorStatus, {
      description:
        'ONLINE starts routing to them and drains the Help queue into their free capacity; AWAY keeps what they hold but routes nothing new to them; OFFLINE routes their dialogs again',
    })
    status: OperatorStatus,
    @Arg('operatorId', () => ID, {
      nullable: true,
      description:
        "the operator; omitted: the caller's own (BAD_USER_INPUT when the caller has no operator profile). NOT_FOUND if unknown",
    })
    operatorId: string | null,
    @Arg('reason', () => String, { nullable: true, description: 'shown as awayReason while AWAY (at most 200 characters)' })
    reason: string | null,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<OperatorRecord> {
    return services.presence.setStatus(em, viewer!, status, operatorId, reason);
  }
}
