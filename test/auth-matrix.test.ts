import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, CALLERS, FIELD_ACCESS, ROLES, mayCall, type Caller, type Role } from './helpers/access.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login, unique } from './helpers/factories.js';
import type { GraphqlClient, GraphqlError, GraphqlResult } from './helpers/gql.js';
import { operationFor, rootFields, type RootField } from './helpers/schema-ops.js';
import { subscribe, wsClient } from './helpers/ws.js';

/**
 * Every root field of the schema × every role and no token, against the rules in
 * helpers/access.ts. Operations are generated from the schema (selecting only `__typename`,
 * so field-level rules do not blur the root field's); arguments come from ARGS below.
 */

let t: TestApp;
let fields: RootField[];
const tokens = {} as Record<Role, string>;
const clients = {} as Record<Caller, GraphqlClient>;
let bot: GraphqlClient;
/** `own`: the OPERATOR's operator and group; `other`: an operator in a group the OPERATOR is not in. */
const fx = { ownGroup: '', otherGroup: '', own: '', mate: '', other: '', scenario: '' };

type Variables = Record<string, unknown>;
/** Arguments for a call by `role`, fresh rows where the call consumes them. */
type ArgsFor = (role: Caller) => Promise<Variables> | Variables;
interface Args {
  /** Arguments within the caller's reach (for OPERATOR: their own things). */
  readonly own: ArgsFor;
  /** For fields with `operatorOwn`: arguments outside an OPERATOR's own things. */
  readonly others?: ArgsFor;
  /** Makes an accepted subscription produce an event. */
  readonly trigger?: (variables: Variables) => Promise<void>;
}

/** A dialog assigned to the OPERATOR's operator. */
async function ownDialog(): Promise<string> {
  const d = await transfer(bot, (await startDialog(bot)).id, { operatorId: fx.own });
  expect(d.operator?.id).toBe(fx.own);
  return d.id;
}
/** A dialog assigned to an operator outside the OPERATOR's groups. */
async function othersDialog(): Promise<string> {
  const d = await transfer(bot, (await startDialog(bot)).id, { operatorId: fx.other });
  expect(d.operator?.id).toBe(fx.other);
  return d.id;
}
async function botDialog(): Promise<string> {
  return (await startDialog(bot)).id;
}
const email = (): string => `${unique('matrix')}@example.com`;
async function freshUser(): Promise<string> {
  const { createUser } = await t.admin.ok<{ createUser: { id: string } }>(
    `mutation($e: String!) { createUser(input: { email: $e, firstName: "A", lastName: "B", role: SUPERVISOR }) { id } }`,
    { e: email() },
  );
  return createUser.id;
}
let mateOnline = false;
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

const ARGS: Readonly<Record<string, Args>> = {
  group: { own: () => ({ id: fx.ownGroup }) },
  dialog: { own: async () => ({ id: await ownDialog() }) },
  operator: { own: () => ({ id: fx.other }) },
  slReport: {
    own: () => ({ from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', operatorId: fx.own }),
    others: () => ({ from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', operatorId: fx.other }),
  },
  staffingForecast: { own: () => ({ input: { groupId: fx.ownGroup, arrivalsPerHour: 60, avgHandleTimeSec: 120 } }) },
  login: { own: () => ({ email: 'nobody@example.com', password: 'whatever1' }) },
  createGroup: { own: () => ({ input: { name: unique('m'), slFirstResponseSec: 1, slNextResponseSec: 1 } }) },
  updateGroup: { own: () => ({ id: fx.otherGroup, input: {} }) },
  deleteGroup: { own: async () => ({ id: (await createGroup(t.admin)).id }) },
  addOperatorsToGroup: { own: () => ({ groupId: fx.otherGroup, operatorIds: [fx.other] }) },
  removeOperatorsFromGroup: { own: () => ({ groupId: fx.otherGroup, operatorIds: [] }) },
  createOperator: { own: () => ({ input: { firstName: 'A', lastName: 'B', email: email() } }) },
  updateOperator: { own: () => ({ id: fx.other, input: {} }) },
  deleteOperator: { own: async () => ({ id: (await createOperator(t.admin)).id }) },
  createUser: { own: () => ({ input: { email: email(), firstName: 'A', lastName: 'B', role: 'SUPERVISOR' } }) },
  createApiToken: { own: () => ({ name: unique('m'), role: 'INTEGRATION' }) },
  revokeApiToken: {
    own: async () => ({
      id: (
        await t.admin.ok<{ createApiToken: { id: string } }>(
          `mutation { createApiToken(name: "revoked", role: INTEGRATION) { id } }`,
        )
      ).createApiToken.id,
    }),
  },
  setPassword: { own: async () => ({ userId: await freshUser(), password: 'long enough password' }) },
  // A wrong current password: the OPERATOR's session and password stay as they are.
  changePassword: { own: () => ({ currentPassword: 'not the password', newPassword: 'a brand new secret' }) },
  updateUser: { own: async () => ({ id: await freshUser(), input: {} }) },
  deleteUser: { own: async () => ({ id: await freshUser() }) },
  createScenario: { own: () => ({ name: unique('m') }) },
  updateScenario: { own: () => ({ id: fx.scenario, name: unique('m') }) },
  deleteScenario: {
    own: async () => ({
      id: (await t.admin.ok<{ createScenario: { id: string } }>(`mutation { createScenario(name: "gone") { id } }`))
        .createScenario.id,
    }),
  },
  setOperatorStatus: {
    own: () => ({ status: 'ONLINE', operatorId: fx.own }),
    others: () => ({ status: 'ONLINE', operatorId: fx.other }),
  },
  startDialog: { own: () => ({ input: { clientName: 'Grace' } }) },
  postClientMessage: { own: async () => ({ dialogId: await botDialog(), text: 'hello' }) },
  reportBotFailure: { own: async () => ({ dialogId: await botDialog() }) },
  setDialogPriority: { own: async () => ({ dialogId: await botDialog(), priority: 3 }) },
  transferDialog: {
    own: async () => ({ dialogId: await ownDialog(), to: { groupId: fx.otherGroup } }),
    others: async () => ({ dialogId: await othersDialog(), to: { groupId: fx.ownGroup } }),
  },
  closeDialog: { own: async () => ({ dialogId: await ownDialog() }), others: async () => ({ dialogId: await othersDialog() }) },
  sendMessage: {
    own: async () => ({ dialogId: await ownDialog(), text: 'hello' }),
    others: async () => ({ dialogId: await othersDialog(), text: 'hello' }),
  },
  takeDialog: { own: async () => ({ dialogId: await botDialog() }) },
  markDialogRead: {
    own: async () => ({ dialogId: await ownDialog() }),
    others: async () => ({ dialogId: await othersDialog() }),
  },
  // Webhooks: NOT_FOUND for an unknown id still shows the role check passed. The created one
  // points at a documentation address (no DNS) and takes an event type these tests never emit.
  webhook: { own: () => ({ id: NO_SUCH_ID }) },
  createWebhook: { own: () => ({ input: { url: 'https://203.0.113.10/hook', types: ['SL_BREACHED'] } }) },
  updateWebhook: { own: () => ({ id: NO_SUCH_ID, input: { active: false } }) },
  deleteWebhook: { own: () => ({ id: NO_SUCH_ID }) },
  rotateWebhookSecret: { own: () => ({ id: NO_SUCH_ID }) },
  redeliverWebhookEvent: { own: () => ({ webhookId: NO_SUCH_ID, eventId: '1' }) },
  // Subscriptions: `trigger` commits a change the subscription reports.
  queueChanged: {
    own: () => ({ groupId: fx.ownGroup }),
    others: () => ({ groupId: fx.otherGroup }),
    trigger: async (v) => void (await transfer(bot, await botDialog(), { groupId: v['groupId'] as string })),
  },
  dialogEvents: {
    own: async () => ({ dialogId: await ownDialog() }),
    others: async () => ({ dialogId: await othersDialog() }),
    trigger: async (v) =>
      void (await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "ping") { id } }`, { id: v['dialogId'] })),
  },
  slTicks: {
    own: () => ({ groupId: fx.ownGroup, intervalMs: 250 }),
    others: () => ({ groupId: fx.otherGroup, intervalMs: 250 }),
  },
  operatorStatusChanged: {
    own: () => ({ groupId: fx.ownGroup }),
    others: () => ({ groupId: fx.otherGroup }),
    trigger: async () => {
      mateOnline = !mateOnline;
      await setStatus(t.admin, fx.mate, mateOnline ? 'ONLINE' : 'OFFLINE');
    },
  },
  myDialogs: { own: () => ({}), trigger: async () => void (await ownDialog()) },
  // Query.events takes the same (no) arguments.
  events: { own: () => ({}), trigger: async () => void (await ownDialog()) },
};

beforeAll(async () => {
  t = await startTestApp();
  fields = await rootFields();
  const [ownGroup, otherGroup] = [await createGroup(t.admin), await createGroup(t.admin)];
  const own = await createOperator(t.admin, { groupIds: [ownGroup.id] });
  const mate = await createOperator(t.admin, { groupIds: [ownGroup.id] });
  const other = await createOperator(t.admin, { groupIds: [otherGroup.id] });
  const scenario = await t.admin.ok<{ createScenario: { id: string } }>(`mutation { createScenario(name: "matrix") { id } }`);
  Object.assign(fx, {
    ownGroup: ownGroup.id,
    otherGroup: otherGroup.id,
    own: own.id,
    mate: mate.id,
    other: other.id,
    scenario: scenario.createScenario.id,
  });
  tokens.ADMIN = ADMIN_TOKEN;
  tokens.SUPERVISOR = await apiToken(t.admin, 'SUPERVISOR');
  tokens.OPERATOR = await login(t.client(), own.email, own.password);
  tokens.INTEGRATION = await apiToken(t.admin, 'INTEGRATION');
  for (const role of ROLES) clients[role] = t.client(tokens[role]);
  clients.ANONYMOUS = t.client();
  bot = clients.INTEGRATION;
  await setStatus(t.admin, fx.own, 'ONLINE');
  await setStatus(t.admin, fx.other, 'ONLINE');
});
afterAll(() => t?.stop());

const codes = (errors: readonly GraphqlError[] | undefined): string[] => (errors ?? []).map((e) => String(e.extensions?.code));
const AUTH_CODES = ['UNAUTHENTICATED', 'FORBIDDEN'];

async function argsFor(root: RootField, caller: Caller, which: 'own' | 'others'): Promise<Variables> {
  const args = ARGS[root.name];
  const make = which === 'own' ? args?.own : args?.others;
  if (make) return make(caller);
  const required = root.args.filter((a) => String(a.type).endsWith('!')).map((a) => a.name);
  if (which === 'own' && required.length === 0) return {};
  throw new Error(`${root.name}: give its ${which} arguments (${required.join(', ') || 'operatorOwn'}) in ARGS`);
}

describe('every root field has a stated rule', () => {
  it('each Query, Mutation and Subscription field is in ACCESS, and ACCESS names no field that is gone', async () => {
    const names = (await rootFields()).map((f) => f.name);
    expect(
      names.filter((n) => !(n in ACCESS)),
      'root fields without an entry in test/helpers/access.ts',
    ).toEqual([]);
    expect(
      Object.keys(ACCESS).filter((n) => !names.includes(n)),
      'entries for fields the schema no longer has',
    ).toEqual([]);
    expect(names.length).toBeGreaterThan(30);
  });
});

describe('queries and mutations over HTTP', () => {
  it('each caller is let through or refused as ACCESS says', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const root of fields.filter((f) => f.kind !== 'subscription')) {
      const access = ACCESS[root.name];
      if (!access) continue; // reported by the completeness test
      const query = operationFor(root, { select: 'typename' });
      const check = async (
        caller: Caller,
        which: 'own' | 'others',
        expected: 'allowed' | 'FORBIDDEN' | 'UNAUTHENTICATED',
      ): Promise<void> => {
        // logout ends the session it is called with: an OPERATOR tries it with a session of its own.
        const client =
          root.name === 'logout' && caller === 'OPERATOR'
            ? await (async () => {
                const op = await createOperator(t.admin);
                return t.client(await login(t.client(), op.email, op.password));
              })()
            : clients[caller];
        const variables = await argsFor(root, caller, which);
        const result = await client.request(query, variables);
        checked++;
        const got = codes(result.errors);
        const ok =
          result.status < 500 &&
          !got.includes('INTERNAL_SERVER_ERROR') &&
          (expected === 'allowed' ? got.every((c) => !AUTH_CODES.includes(c)) : got[0] === expected);
        if (!ok)
          failures.push(
            `${root.name} as ${caller} (${which}): expected ${expected}, got ${JSON.stringify(result.errors ?? result.data)}`,
          );
      };
      for (const caller of CALLERS) {
        const expected = mayCall(access, caller) ? 'allowed' : caller === 'ANONYMOUS' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
        // login is for callers without a session; with a bad password it is refused like one.
        if (root.name === 'login') {
          const result = await clients[caller].request(query, await argsFor(root, caller, 'own'));
          checked++;
          if (codes(result.errors)[0] !== 'UNAUTHENTICATED') failures.push(`login as ${caller}: ${JSON.stringify(result)}`);
          continue;
        }
        await check(caller, 'own', expected);
      }
      if (access.operatorOwn) await check('OPERATOR', 'others', 'FORBIDDEN');
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(150);
  });

  it('allowed calls with real arguments succeed, not just pass the role check', async () => {
    const samples: Array<[Caller, string, string, Variables]> = [
      ['OPERATOR', 'closeDialog', `mutation($id: ID!) { closeDialog(dialogId: $id) { status } }`, { id: await ownDialog() }],
      ['INTEGRATION', 'groups', `{ groups { id } }`, {}],
      ['SUPERVISOR', 'users', `{ users { id } }`, {}],
      [
        'OPERATOR',
        'slReport',
        `query($o: ID) { slReport(operatorId: $o, from: "2020-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { sessions } }`,
        { o: fx.own },
      ],
    ];
    for (const [caller, name, query, variables] of samples) {
      const result = await clients[caller].request(query, variables);
      expect(result.errors, `${name} as ${caller}`).toBeUndefined();
      expect(result.data?.[name], `${name} as ${caller}`).toBeTruthy();
    }
  });

  it('field-level rules: Group.operators and Operator.email as FIELD_ACCESS says', async () => {
    const failures: string[] = [];
    const forbiddenAt = (errors: readonly GraphqlError[] | undefined, field: string): boolean =>
      (errors ?? []).some((e) => e.extensions?.code === 'FORBIDDEN' && e.path?.at(-1) === field);
    for (const role of ROLES) {
      const operators = await clients[role].request(`{ groups { id operators { id } } }`);
      if (forbiddenAt(operators.errors, 'operators') === mayCall(FIELD_ACCESS['Group.operators'], role)) {
        failures.push(`Group.operators as ${role}: ${JSON.stringify(operators.errors)}`);
      }
      // INTEGRATION reaches operators only through dialogs.
      const emailOf = async (operatorId: string): Promise<GraphqlResult> =>
        role === 'INTEGRATION'
          ? clients[role].request(`query($id: ID!) { dialog(id: $id) { operator { email } } }`, {
              id: operatorId === fx.other ? await othersDialog() : await ownDialog(),
            })
          : clients[role].request(`query($id: ID!) { operator(id: $id) { id email } }`, { id: operatorId });
      const others = await emailOf(fx.other);
      const allowed = mayCall(FIELD_ACCESS['Operator.email'], role) && role !== 'OPERATOR';
      if (forbiddenAt(others.errors, 'email') === allowed)
        failures.push(`another's Operator.email as ${role}: ${JSON.stringify(others)}`);
      if (!allowed && JSON.stringify(others.data ?? {}).includes('@')) failures.push(`another's email leaked to ${role}`);
    }
    const own = await clients.OPERATOR.request(`query($id: ID!) { operator(id: $id) { email } }`, { id: fx.own });
    if (own.errors) failures.push(`own Operator.email as OPERATOR: ${JSON.stringify(own.errors)}`);
    expect(failures).toEqual([]);
  });

  it('logout answers false for tokens that are not sessions, and UNAUTHENTICATED without one', async () => {
    for (const role of ROLES.filter((r) => r !== 'OPERATOR')) {
      expect((await clients[role].ok(`mutation { logout }`)).logout).toBe(false);
    }
    await clients.ANONYMOUS.fails(`mutation { logout }`, undefined, 'UNAUTHENTICATED');
  });
});

/** Waits for the first of: an event (accepted) or an error (refused), triggering events meanwhile. */
async function outcome(
  ws: Client,
  root: RootField,
  variables: Variables,
  trigger: (() => Promise<void>) | undefined,
): Promise<{ kind: 'event'; errorsBefore: unknown[] } | { kind: 'error'; codes: string[] }> {
  const sub = subscribe(ws, operationFor(root, { select: 'typename' }), variables);
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (sub.errors.length) return { kind: 'error', codes: errorCodes(sub.errors) };
      if (sub.buffered.length) return { kind: 'event', errorsBefore: [...sub.errors] };
      await trigger?.();
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`${root.name}: neither an event nor an error within 15 s`);
  } finally {
    sub.dispose();
  }
}

/** graphql-ws hands over a list of GraphQL errors, or one error, or a close event. */
function errorCodes(errors: unknown[]): string[] {
  return errors.flat().map((e) => String((e as GraphqlError | null)?.extensions?.code ?? JSON.stringify(e)));
}

describe('subscriptions over graphql-ws', () => {
  it('each role is let through (an event arrives, no error before it) or refused with FORBIDDEN', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const role of ROLES) {
      const ws = wsClient(t.app.server.wsUrl, tokens[role]);
      try {
        for (const root of fields.filter((f) => f.kind === 'subscription')) {
          const access = ACCESS[root.name];
          if (!access) continue;
          const runs: Array<['own' | 'others', boolean]> = [['own', mayCall(access, role)]];
          if (role === 'OPERATOR' && access.operatorOwn) runs.push(['others', false]);
          for (const [which, allowed] of runs) {
            const variables = await argsFor(root, role, which);
            const trigger = ARGS[root.name]?.trigger;
            const got = await outcome(ws, root, variables, trigger && (() => trigger(variables)));
            checked++;
            const ok = allowed
              ? got.kind === 'event' && got.errorsBefore.length === 0
              : got.kind === 'error' && got.codes[0] === 'FORBIDDEN';
            if (!ok)
              failures.push(
                `${root.name} as ${role} (${which}): expected ${allowed ? 'events' : 'FORBIDDEN'}, got ${JSON.stringify(got)}`,
              );
          }
        }
      } finally {
        await ws.dispose();
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(24);
  });

  it('a socket without a token is closed with 4401 before any subscription runs', async () => {
    for (const root of fields.filter((f) => f.kind === 'subscription')) {
      const ws = wsClient(t.app.server.wsUrl);
      const closed = new Promise<number>((resolve) => ws.on('closed', (e) => resolve((e as { code: number }).code)));
      const sub = subscribe(ws, operationFor(root, { select: 'typename' }), await argsFor(root, 'ADMIN', 'own'));
      expect(await closed, root.name).toBe(4401);
      expect(sub.buffered).toEqual([]);
      sub.dispose();
      await ws.dispose();
    }
  });
});
