import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { StaffingForecast, StaffingInput } from './staffing.type.js';

@Resolver()
export class StaffingResolver {
  /** Staffing is a planning decision: ADMIN and SUPERVISOR (operators see the live QueueStats figures). */
  @Authorized(Role.SUPERVISOR)
  @Query(() => StaffingForecast, {
    description:
      'ADMIN, SUPERVISOR: how many operators a group (or the whole server) needs to meet an SL target, from its live traffic or the figures given',
  })
  staffingForecast(
    @Arg('input', () => StaffingInput, { description: 'the group and any figures to use instead of the live ones' })
    input: StaffingInput,
    @Ctx() { em, services }: Context,
  ): Promise<StaffingForecast> {
    return services.staffing.forecast(em, input);
  }
}
