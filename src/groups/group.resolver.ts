import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Operator } from '../operators/operator.entity.js';
import type { OperatorRecord } from '../operators/operator-record.js';
import { Group } from './group.entity.js';
import type { GroupRecord } from './group-record.js';
import { CreateGroupInput, UpdateGroupInput } from './group.inputs.js';

@Resolver(() => Group)
export class GroupResolver {
  @Authorized(...READERS.catalog)
  @Query(() => [Group], { description: 'every group, by name' })
  groups(@Ctx() { em, services }: Context): Promise<GroupRecord[]> {
    return services.groups.list(em);
  }

  @Authorized(...READERS.catalog)
  @Query(() => Group, { nullable: true, description: 'one group; null when it does not exist or was deleted' })
  group(
    @Arg('id', () => ID, { description: 'the group id' }) id: string,
    @Ctx() { em, services }: Context,
  ): Promise<GroupRecord | null> {
    return services.groups.find(em, id);
  }

  @Authorized(...READERS.operators)
  @FieldResolver(() => [Operator], { description: "the group's members (not deleted), oldest first; visible to every role" })
  operators(@Root() group: GroupRecord, @Ctx() { loaders }: Context): Promise<OperatorRecord[]> {
    return loaders.operatorsOfGroup.load(group.id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group, { description: 'ADMIN: a new group, with members if given' })
  createGroup(
    @Arg('input', () => CreateGroupInput, { description: 'the name, SL targets and members' }) input: CreateGroupInput,
    @Ctx() { em, services }: Context,
  ): Promise<GroupRecord> {
    return services.groups.create(em, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group, { description: 'ADMIN: renames a group or changes its SL targets; NOT_FOUND for an unknown group' })
  updateGroup(
    @Arg('id', () => ID, { description: 'the group to change' }) id: string,
    @Arg('input', () => UpdateGroupInput, { description: 'the changes; omitted fields keep their value' })
    input: UpdateGroupInput,
    @Ctx() { em, services }: Context,
  ): Promise<GroupRecord> {
    return services.groups.update(em, id, input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: "ADMIN: unlinks the group's operators (they are kept); returns the deleted id" })
  deleteGroup(
    @Arg('id', () => ID, {
      description: 'the group to delete (soft delete: dialogs and reports keep referring to it); NOT_FOUND if unknown',
    })
    id: string,
    @Ctx() { em, services }: Context,
  ): Promise<string> {
    return services.groups.delete(em, id);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group, {
    description:
      'ADMIN: adds members (already members are left as they are); an ONLINE newcomer with free capacity drains dialogs queued for the group',
  })
  addOperatorsToGroup(
    @Arg('groupId', () => ID, { description: 'the group; NOT_FOUND if unknown' }) groupId: string,
    @Arg('operatorIds', () => [ID], { description: 'the operators to add; an unknown one is NOT_FOUND and nothing changes' })
    operatorIds: string[],
    @Ctx() { em, services }: Context,
  ): Promise<GroupRecord> {
    return services.groups.addOperators(em, groupId, operatorIds);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Group, { description: 'ADMIN: removes members; the dialogs they hold stay with them' })
  removeOperatorsFromGroup(
    @Arg('groupId', () => ID, { description: 'the group; NOT_FOUND if unknown' }) groupId: string,
    @Arg('operatorIds', () => [ID], {
      description: 'the operators to remove; an unknown one is NOT_FOUND and nothing changes; non-members are skipped',
    })
    operatorIds: string[],
    @Ctx() { em, services }: Context,
  ): Promise<GroupRecord> {
    return services.groups.removeOperators(em, groupId, operatorIds);
  }
}
