import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Operator } from '../operators/operator.entity.js';
import { Group } from './group.entity.js';
import { CreateGroupInput, UpdateGroupInput } from './group.inputs.js';

@Resolver(() => Group)
export class GroupResolver {
  @Authorized(...READERS.catalog)
  @Query(() => [Group])
  groups(@Ctx() { em, services }: Context): Promise<Group[]> {
    return services.groups.list(em);
  }

  @Authorized(...READERS.catalog)
  @Query(() => Group, { nullable: true })
  group(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<Group | null> {
    return services.groups.find(em, id);
  }

  @Authorized(...READERS.operators)
  @FieldResolver(() => [Operator])
  operators(@Root() group: Group, @Ctx() { loaders }: Context): Promise<Operator[]> {
    return loaders.operatorsOfGroup.load(group.id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group)
  createGroup(@Arg('input', () => CreateGroupInput) input: CreateGroupInput, @Ctx() { em, services }: Context): Promise<Group> {
    return services.groups.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group)
  updateGroup(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateGroupInput) input: UpdateGroupInput,
    @Ctx() { em, services }: Context,
  ): Promise<Group> {
    return services.groups.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: "unlinks the group's operators (they are kept); returns the deleted id" })
  deleteGroup(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<string> {
    return services.groups.delete(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group)
  addOperatorsToGroup(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('operatorIds', () => [ID]) operatorIds: string[],
    @Ctx() { em, services }: Context,
  ): Promise<Group> {
    return services.groups.addOperators(em, groupId, operatorIds);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group)
  removeOperatorsFromGroup(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('operatorIds', () => [ID]) operatorIds: string[],
    @Ctx() { em, services }: Context,
  ): Promise<Group> {
    return services.groups.removeOperators(em, groupId, operatorIds);
  }
}
