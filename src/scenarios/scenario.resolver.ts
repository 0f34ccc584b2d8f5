import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { READERS } from '../auth/auth-checker.js';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { Group } from '../groups/group.entity.js';
import { Scenario } from './scenario.entity.js';

@Resolver(() => Scenario)
export class ScenarioResolver {
  @Authorized(...READERS.catalog)
  @Query(() => [Scenario])
  scenarios(@Ctx() { em, services }: Context): Promise<Scenario[]> {
    return services.scenarios.list(em);
  }

  @FieldResolver(() => Group, {
    nullable: true,
    description: "where dialogs go when the bot fails (the start block's operator group)",
  })
  fallbackGroup(@Root() scenario: Scenario, @Ctx() { loaders }: Context): Promise<Group | null> {
    return scenario.fallbackGroup ? loaders.groupById.load(scenario.fallbackGroup.id) : Promise.resolve(null);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Scenario)
  createScenario(
    @Arg('name', () => String) name: string,
    @Arg('fallbackGroupId', () => ID, { nullable: true }) fallbackGroupId: string | null,
    @Ctx() { em, services }: Context,
  ): Promise<Scenario> {
    return services.scenarios.create(em, name, fallbackGroupId);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Scenario)
  updateScenario(
    @Arg('id', () => ID) id: string,
    @Arg('name', () => String, { nullable: true }) name: string | null | undefined,
    @Arg('fallbackGroupId', () => ID, { nullable: true }) fallbackGroupId: string | null | undefined,
    @Ctx() { em, services }: Context,
  ): Promise<Scenario> {
    return services.scenarios.update(em, id, { name, fallbackGroupId });
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ID, { description: 'dialogs keep referring to it' })
  deleteScenario(@Arg('id', () => ID) id: string, @Ctx() { em, services }: Context): Promise<string> {
    return services.scenarios.delete(em, id);
  }
}
