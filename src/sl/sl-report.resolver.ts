import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { ForbiddenError } from '../shared/errors.js';
import { SlReport } from './sl-report.type.js';

@Resolver()
export class SlReportResolver {
  /** Staff read any report; an operator reads their own (operatorId = their operator). */
  @Authorized(Role.SUPERVISOR, Role.OPERATOR)
  @Query(() => SlReport, {
    description: 'ADMIN, SUPERVISOR: any report; an OPERATOR: only their own (operatorId = their operator, else FORBIDDEN)',
  })
  slReport(
    @Arg('groupId', () => ID, {
      nullable: true,
      description: "only clocks that used this group's targets; omitted: every group. NOT_FOUND for an unknown group",
    })
    groupId: string | null,
    @Arg('operatorId', () => ID, {
      nullable: true,
      description:
        'only clocks this operator answered (or held unanswered); omitted: everyone. NOT_FOUND for an unknown operator',
    })
    operatorId: string | null,
    @Arg('from', () => Date, { description: 'start of the period, inclusive' }) from: Date,
    @Arg('to', () => Date, { description: 'end of the period, exclusive; must be after from (else BAD_USER_INPUT)' }) to: Date,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<SlReport> {
    if (viewer!.role === Role.OPERATOR && (operatorId == null || operatorId !== viewer!.operatorId)) {
      throw new ForbiddenError('Operators read their own report only (operatorId)');
    }
    return services.slReports.report(em, { groupId: groupId ?? null, operatorId: operatorId ?? null, from, to });
  }
}
