import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/role.js';
import type { Context } from '../context.js';
import { ForbiddenError } from '../shared/errors.js';
import { SlReport } from './sl-report.type.js';

@Resolver()
export class SlReportResolver {
  /** Staff read any report; an operator reads their own (operatorId = their operator). */
  @Authorized(Role.SUPERVISOR, Role.OPERATOR)
  @Query(() => SlReport)
  slReport(
    @Arg('groupId', () => ID, { nullable: true }) groupId: string | null,
    @Arg('operatorId', () => ID, { nullable: true }) operatorId: string | null,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Ctx() { em, services, viewer }: Context,
  ): Promise<SlReport> {
    if (viewer!.role === Role.OPERATOR && (operatorId == null || operatorId !== viewer!.operatorId)) {
      throw new ForbiddenError('Operators read their own report only (operatorId)');
    }
    return services.slReports.report(em, { groupId: groupId ?? null, operatorId: operatorId ?? null, from, to });
  }
}
