import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Group } from '../groups/group.entity.js';
import type { GroupRecord } from '../groups/group-record.js';
import { Scenario } from './scenario.entity.js';
import type { ScenarioRecord } from './scenario-record.js';

@Resolver(() => Scenario)
export class ScenarioResolver {
  @Authorized(...READERS.catalog)
  @Query(() => [Scenario], { description: 'scenarios that are not deleted, oldest first' })
  scenarios(@Ctx() { em, services }: Context): Promise<ScenarioRecord[]> {
    return services.scenarios.list(em);
  }

  @FieldResolver(() => Group, {
    nullable: true,
    description: "where dialogs go when the bot fails (the start block's operator group)",
  })
  fallbackGroup(@Root() scenario: ScenarioRecord, @Ctx() { loaders }: Context): Promise<GroupRecord | null> {
    return scenario.fallbackGroupId ? loaders.groupById.load(scenario.fallbackGroupId) : Promise.resolve(null);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Scenario, { description: 'ADMIN: a new scenario' })
  createScenario(
    @Arg('name', () => String, { description: '1 to 200 characters after trimming' }) name: string,
    @Arg('fallbackGroupId', () => ID, {
      nullable: true,
      description:
        'the group that takes its dialogs when the bot fails; omitted: none (any available operator). NOT_FOUND for an unknown group',
    })
    fallbackGroupId: string | null,
    @Ctx() { em, services }: Context,
  ): Promise<ScenarioRecord> {
    return services.scenarios.create(em, name, fallbackGroupId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Scenario, {
    description: 'ADMIN: renames a scenario or changes its fallback group; NOT_FOUND for an unknown or deleted scenario',
  })
  updateScenario(
    @Arg('id', () => ID, { description: 'the scenario to change' }) id: string,
    @Arg('name', () => String, { nullable: true, description: '1 to 200 characters after trimming; omitted or null: unchanged' })
    name: string | null | undefined,
    @Arg('fallbackGroupId', () => ID, {
      nullable: true,
      description: 'omitted: unchanged; null: no fallback group; NOT_FOUND for an unknown group',
    })
    fallbackGroupId: string | null | undefined,
    @Ctx() { em, services }: Context,
  ): Promise<ScenarioRecord> {
    return services.scenarios.update(em, id, { name, fallbackGroupId });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: 'ADMIN: dialogs keep referring to it' })
  deleteScenario(
    @Arg('id', () => ID, {
      description:
        'the scenario to delete (soft delete: it leaves scenarios and new dialogs cannot name it); NOT_FOUND if unknown',
    })
    id: string,
    @Ctx() { em, services }: Context,
  ): Promise<string> {
    return services.scenarios.delete(em, id);
  }
}
