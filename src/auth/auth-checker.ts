import type { AuthChecker } from 'type-graphql';
import type { Context } from '../context.js';
import { ForbiddenError, UnauthenticatedError } from '../shared/errors.js';
import { Role } from './role.js';
import { isStaff } from './viewer.js';

/**
 * `@Authorized()` = any valid token; `@Authorized(Role.X, …)` = those roles. ADMIN may do
 * everything. Throws the contract's error codes rather than returning false.
 */
export const authChecker: AuthChecker<Context, Role> = ({ context }, roles) => {
  const { viewer } = context;
  if (!viewer) throw new UnauthenticatedError();
  if (roles.length === 0 || viewer.role === Role.ADMIN || roles.includes(viewer.role)) return true;
  throw new ForbiddenError(`Requires role ${roles.join(' or ')}`);
};

/** Who may read what; one place to check against the role matrix in the README. */
export const READERS = {
  /** groups and scenarios: every role, bot runtimes need the targets */
  catalog: [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION],
  /** operators (their email is guarded apart, mayReadOperatorEmail): bot runtimes name them in transfers */
  operators: [Role.SUPERVISOR, Role.OPERATOR, Role.INTEGRATION],
  /** users */
  staff: [Role.SUPERVISOR],
} as const;

/**
 * An operator's e-mail (a login name): staff, and the operator themself, also in the answer to
 * the login that signs them in.
 */
export function mayReadOperatorEmail(context: Context, operator: { readonly id: string; readonly userId: string }): boolean {
  const { viewer } = context;
  if (viewer !== null && (isStaff(viewer) || viewer.operatorId === operator.id)) return true;
  return context.signedInUserId !== null && context.signedInUserId === operator.userId;
}
