import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login, unique } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';

/**
 * Every role against every query and mutation of the management API: allowed (no auth error)
 * or FORBIDDEN; no token is always UNAUTHENTICATED (login excepted).
 */
type Role = 'ADMIN' | 'SUPERVISOR' | 'OPERATOR' | 'INTEGRATION';
const ROLES: Role[] = ['ADMIN', 'SUPERVISOR', 'OPERATOR', 'INTEGRATION'];

let t: TestApp;
const clients = {} as Record<Role, GraphqlClient>;
let ids: { group: string; operator: string; ownOperator: string };

beforeAll(async () => {
  t = await startTestApp();
  const group = await createGroup(t.admin);
  const operator = await createOperator(t.admin, { groupIds: [group.id] });
  const own = await createOperator(t.admin, { groupIds: [group.id] });
  clients.ADMIN = t.admin;
  clients.SUPERVISOR = t.client(await apiToken(t.admin, 'SUPERVISOR'));
  clients.OPERATOR = t.client(await login(t.client(), own.email, own.password));
  clients.INTEGRATION = t.client(await apiToken(t.admin, 'INTEGRATION'));
  ids = { group: group.id, operator: operator.id, ownOperator: own.id };
});
afterAll(() => t.stop());

interface Case {
  name: string;
  allowed: Role[];
  op: () => { query: string; variables?: Record<string, unknown> };
}

const READ_ALL: Role[] = ['ADMIN', 'SUPERVISOR', 'OPERATOR', 'INTEGRATION'];
const READ_PEOPLE: Role[] = ['ADMIN', 'SUPERVISOR', 'OPERATOR'];
const ADMIN: Role[] = ['ADMIN'];

const cases: Case[] = [
  { name: 'groups', allowed: READ_ALL, op: () => ({ query: `{ groups { id } }` }) },
  { name: 'group', allowed: READ_ALL, op: () => ({ query: `query($id: ID!) { group(id: $id) { id } }`, variables: { id: ids.group } }) },
  { name: 'Group.operators', allowed: READ_PEOPLE, op: () => ({ query: `{ groups { operators { id } } }` }) },
  { name: 'operators', allowed: READ_PEOPLE, op: () => ({ query: `{ operators { id } }` }) },
  { name: 'operator', allowed: READ_PEOPLE, op: () => ({ query: `query($id: ID!) { operator(id: $id) { id } }`, variables: { id: ids.operator } }) },
  { name: 'users', allowed: ['ADMIN', 'SUPERVISOR'], op: () => ({ query: `{ users { id } }` }) },
  { name: 'scenarios', allowed: READ_ALL, op: () => ({ query: `{ scenarios { id } }` }) },
  { name: 'me', allowed: READ_ALL, op: () => ({ query: `{ me { id } }` }) },
  {
    name: 'createGroup',
    allowed: ADMIN,
    op: () => ({ query: `mutation($n: String!) { createGroup(input: { name: $n, slFirstResponseSec: 1, slNextResponseSec: 1 }) { id } }`, variables: { n: unique('m') } }),
  },
  { name: 'updateGroup', allowed: ADMIN, op: () => ({ query: `mutation($id: ID!) { updateGroup(id: $id, input: {}) { id } }`, variables: { id: ids.group } }) },
  { name: 'deleteGroup', allowed: ADMIN, op: () => ({ query: `mutation { deleteGroup(id: "00000000-0000-4000-8000-000000000000") }` }) },
  {
    name: 'addOperatorsToGroup',
    allowed: ADMIN,
    op: () => ({ query: `mutation($g: ID!, $o: ID!) { addOperatorsToGroup(groupId: $g, operatorIds: [$o]) { id } }`, variables: { g: ids.group, o: ids.operator } }),
  },
  {
    name: 'removeOperatorsFromGroup',
    allowed: ADMIN,
    op: () => ({ query: `mutation($g: ID!) { removeOperatorsFromGroup(groupId: $g, operatorIds: []) { id } }`, variables: { g: ids.group } }),
  },
  {
    name: 'createOperator',
    allowed: ADMIN,
    op: () => ({ query: `mutation($e: String!) { createOperator(input: { firstName: "A", lastName: "B", email: $e }) { id } }`, variables: { e: `${unique('m')}@example.com` } }),
  },
  { name: 'updateOperator', allowed: ADMIN, op: () => ({ query: `mutation($id: ID!) { updateOperator(id: $id, input: {}) { id } }`, variables: { id: ids.operator } }) },
  { name: 'deleteOperator', allowed: ADMIN, op: () => ({ query: `mutation { deleteOperator(id: "00000000-0000-4000-8000-000000000000") }` }) },
  {
    name: 'createUser',
    allowed: ADMIN,
    op: () => ({ query: `mutation($e: String!) { createUser(input: { email: $e, firstName: "A", lastName: "B", role: SUPERVISOR }) { id } }`, variables: { e: `${unique('m')}@example.com` } }),
  },
  { name: 'createApiToken', allowed: ADMIN, op: () => ({ query: `mutation { createApiToken(name: "x", role: INTEGRATION) { id } }` }) },
  { name: 'createScenario', allowed: ADMIN, op: () => ({ query: `mutation { createScenario(name: "s") { id } }` }) },
  { name: 'updateScenario', allowed: ADMIN, op: () => ({ query: `mutation { updateScenario(id: "00000000-0000-4000-8000-000000000000", name: "x") { id } }` }) },
  {
    name: 'setOperatorStatus (own)',
    allowed: ['ADMIN', 'SUPERVISOR', 'OPERATOR'],
    op: () => ({ query: `mutation($id: ID!) { setOperatorStatus(status: OFFLINE, operatorId: $id) { id } }`, variables: { id: ids.ownOperator } }),
  },
  {
    name: "setOperatorStatus (another's)",
    allowed: ['ADMIN', 'SUPERVISOR'],
    op: () => ({ query: `mutation($id: ID!) { setOperatorStatus(status: OFFLINE, operatorId: $id) { id } }`, variables: { id: ids.operator } }),
  },
];

describe('auth matrix', () => {
  for (const c of cases) {
    for (const role of ROLES) {
      const allowed = c.allowed.includes(role);
      it(`${c.name} as ${role}: ${allowed ? 'allowed' : 'FORBIDDEN'}`, async () => {
        const { query, variables } = c.op();
        const result = await clients[role].request(query, variables);
        const codes = (result.errors ?? []).map((e) => e.extensions?.code);
        if (allowed) {
          expect(codes).not.toContain('FORBIDDEN');
          expect(codes).not.toContain('UNAUTHENTICATED');
          expect(codes.every((code) => code === 'NOT_FOUND'), JSON.stringify(result.errors)).toBe(true);
        } else {
          expect(codes).toContain('FORBIDDEN');
        }
      });
    }
    it(`${c.name} without a token: UNAUTHENTICATED`, async () => {
      const { query, variables } = c.op();
      const result = await t.client().request(query, variables);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  }

  it('login and logout', async () => {
    await t.client().fails(`mutation { login(email: "x@example.com", password: "whatever1") { token } }`, undefined, 'UNAUTHENTICATED');
    await t.client().fails(`mutation { logout }`, undefined, 'UNAUTHENTICATED');
    for (const role of ROLES.filter((r) => r !== 'OPERATOR')) {
      expect((await clients[role].ok(`mutation { logout }`)).logout).toBe(false);
    }
  });
});
