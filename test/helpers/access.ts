/**
 * Who may call each root field of the API: the one statement of the access rules that the
 * auth matrix checks against the running server, field by field, for every role. The README's
 * role table says the same in prose; change both together.
 */
export const ROLES = ['ADMIN', 'SUPERVISOR', 'OPERATOR', 'INTEGRATION'] as const;
export type Role = (typeof ROLES)[number];
/** A caller: a role, or no token at all. */
export type Caller = Role | 'ANONYMOUS';
export const CALLERS: readonly Caller[] = [...ROLES, 'ANONYMOUS'];

export interface Access {
  /** Roles that pass the role check. Everyone else gets FORBIDDEN; no token, UNAUTHENTICATED. */
  readonly roles: readonly Role[];
  /** Set when OPERATOR may act only on their own things: what those are (FORBIDDEN outside). */
  readonly operatorOwn?: string;
  /** Callable without a token (login). */
  readonly anonymous?: true;
}

const EVERY_ROLE: readonly Role[] = ROLES;
const ADMIN: readonly Role[] = ['ADMIN'];
const STAFF: readonly Role[] = ['ADMIN', 'SUPERVISOR'];
const STAFF_AND_OPERATORS: readonly Role[] = ['ADMIN', 'SUPERVISOR', 'OPERATOR'];
const BOT_RUNTIME: readonly Role[] = ['ADMIN', 'SUPERVISOR', 'INTEGRATION'];

const ASSIGNED_TO_THEM = 'dialogs assigned to them';
const THEIR_GROUPS = 'their own groups';

export const ACCESS: Readonly<Record<string, Access>> = {
  // Query
  groups: { roles: EVERY_ROLE },
  group: { roles: EVERY_ROLE },
  scenarios: { roles: EVERY_ROLE },
  me: { roles: EVERY_ROLE },
  viewer: { roles: EVERY_ROLE },
  apiTokens: { roles: ADMIN },
  // Operators see dialogs assigned to them, queued in Help or aimed at their groups (others read as null / absent).
  dialog: { roles: EVERY_ROLE },
  dialogs: { roles: EVERY_ROLE },
  queueStats: { roles: EVERY_ROLE },
  helpQueue: { roles: STAFF_AND_OPERATORS },
  // INTEGRATION too (bots name operators in transfers), but not their email (Operator.email).
  operators: { roles: EVERY_ROLE },
  operator: { roles: EVERY_ROLE },
  users: { roles: STAFF },
  slReport: { roles: STAFF_AND_OPERATORS, operatorOwn: 'their own report (operatorId = their operator)' },
  staffingForecast: { roles: STAFF },
  // The event log (Query.events and Subscription.events share the name): operators see the
  // events of dialogs they may see and the status events of their groups.
  events: { roles: EVERY_ROLE },
  eventCursor: { roles: EVERY_ROLE },
  webhooks: { roles: ADMIN },
  webhook: { roles: ADMIN },
  // Mutation
  login: { roles: EVERY_ROLE, anonymous: true },
  logout: { roles: EVERY_ROLE },
  createGroup: { roles: ADMIN },
  updateGroup: { roles: ADMIN },
  deleteGroup: { roles: ADMIN },
  addOperatorsToGroup: { roles: ADMIN },
  removeOperatorsFromGroup: { roles: ADMIN },
  createOperator: { roles: ADMIN },
  updateOperator: { roles: ADMIN },
  deleteOperator: { roles: ADMIN },
  createUser: { roles: ADMIN },
  createApiToken: { roles: ADMIN },
  revokeApiToken: { roles: ADMIN },
  setPassword: { roles: ADMIN },
  // The caller's own password: only a login session has one (API tokens and ADMIN_TOKEN: FORBIDDEN).
  changePassword: { roles: ['OPERATOR'] },
  updateUser: { roles: ADMIN },
  deleteUser: { roles: ADMIN },
  createScenario: { roles: ADMIN },
  updateScenario: { roles: ADMIN },
  deleteScenario: { roles: ADMIN },
  setOperatorStatus: { roles: STAFF_AND_OPERATORS, operatorOwn: 'their own status' },
  startDialog: { roles: BOT_RUNTIME },
  postClientMessage: { roles: BOT_RUNTIME },
  reportBotFailure: { roles: BOT_RUNTIME },
  setDialogPriority: { roles: BOT_RUNTIME },
  transferDialog: { roles: EVERY_ROLE, operatorOwn: ASSIGNED_TO_THEM },
  closeDialog: { roles: EVERY_ROLE, operatorOwn: ASSIGNED_TO_THEM },
  sendMessage: { roles: STAFF_AND_OPERATORS, operatorOwn: ASSIGNED_TO_THEM },
  takeDialog: { roles: STAFF_AND_OPERATORS },
  // Read markers are an operator's own: tokens without an operator profile have none.
  markDialogRead: { roles: ['OPERATOR'], operatorOwn: 'dialogs they may see' },
  createWebhook: { roles: ADMIN },
  updateWebhook: { roles: ADMIN },
  deleteWebhook: { roles: ADMIN },
  rotateWebhookSecret: { roles: ADMIN },
  redeliverWebhookEvent: { roles: ADMIN },
  // Subscription
  queueChanged: { roles: EVERY_ROLE, operatorOwn: `${THEIR_GROUPS} and the Help queue` },
  dialogEvents: { roles: EVERY_ROLE, operatorOwn: 'dialogs they may see' },
  slTicks: { roles: EVERY_ROLE, operatorOwn: THEIR_GROUPS },
  operatorStatusChanged: { roles: STAFF_AND_OPERATORS, operatorOwn: `${THEIR_GROUPS} (groupId required)` },
  // The caller's own assignments: only an operator's login session has any.
  myDialogs: { roles: ['OPERATOR'] },
};

/** Fields below the root with a rule of their own (FORBIDDEN at that field, the rest answers). */
export const FIELD_ACCESS: Readonly<Record<string, Access>> = {
  'Group.operators': { roles: EVERY_ROLE },
  'Operator.email': { roles: STAFF_AND_OPERATORS, operatorOwn: 'their own email' },
};

export function mayCall(access: Access, caller: Caller): boolean {
  return caller === 'ANONYMOUS' ? access.anonymous === true : access.roles.includes(caller);
}
