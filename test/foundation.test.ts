import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, createOperator, unique } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const UNKNOWN = '00000000-0000-4000-8000-00000000abcd';

describe('scenarios', () => {
  const CREATE = `mutation($name: String!, $g: ID) { createScenario(name: $name, fallbackGroupId: $g) { id name fallbackGroup { id } } }`;
  const UPDATE = `mutation($id: ID!, $name: String, $g: ID) { updateScenario(id: $id, name: $name, fallbackGroupId: $g) { id name fallbackGroup { id } } }`;
  /** The same mutation without the fallbackGroupId argument at all. */
  const RENAME = `mutation($id: ID!, $name: String) { updateScenario(id: $id, name: $name) { id name fallbackGroup { id } } }`;

  async function scenarioNames(): Promise<string[]> {
    const { scenarios } = await t.admin.ok<{ scenarios: Array<{ name: string }> }>(`{ scenarios { name } }`);
    return scenarios.map((s) => s.name);
  }

  it.each([
    ['empty', '   '],
    ['201 characters', 'x'.repeat(201)],
  ])('createScenario refuses a %s name with BAD_USER_INPUT on name', async (_label, name) => {
    const before = await scenarioNames();
    await t.admin.fails(CREATE, { name }, 'BAD_USER_INPUT', 'name');
    expect(await scenarioNames()).toEqual(before);
  });

  it('createScenario: NOT_FOUND for an unknown fallback group, nothing written', async () => {
    const name = unique('s');
    await t.admin.fails(CREATE, { name, g: UNKNOWN }, 'NOT_FOUND', 'fallbackGroupId');
    expect(await scenarioNames()).not.toContain(name);
  });

  it('updateScenario renames, sets the fallback group, keeps it when omitted and clears it with null', async () => {
    const g = await createGroup(t.admin);
    const other = await createGroup(t.admin);
    const { createScenario: s } = await t.admin.ok(CREATE, { name: unique('faq') });
    expect(s.fallbackGroup).toBeNull();

    const renamed = unique('renamed');
    expect((await t.admin.ok(RENAME, { id: s.id, name: `  ${renamed} ` })).updateScenario).toEqual({
      id: s.id,
      name: renamed,
      fallbackGroup: null,
    });
    expect((await t.admin.ok(UPDATE, { id: s.id, g: g.id })).updateScenario).toEqual({
      id: s.id,
      name: renamed,
      fallbackGroup: { id: g.id },
    });
    // Omitted (argument absent, or a variable not sent): kept.
    expect((await t.admin.ok(RENAME, { id: s.id, name: renamed })).updateScenario.fallbackGroup).toEqual({ id: g.id });
    expect((await t.admin.ok(UPDATE, { id: s.id })).updateScenario.fallbackGroup).toEqual({ id: g.id });
    expect((await t.admin.ok(UPDATE, { id: s.id, g: other.id })).updateScenario.fallbackGroup).toEqual({ id: other.id });
    // Explicit null: cleared, as a variable and as a literal.
    expect((await t.admin.ok(UPDATE, { id: s.id, g: null })).updateScenario).toEqual({
      id: s.id,
      name: renamed,
      fallbackGroup: null,
    });
    await t.admin.ok(UPDATE, { id: s.id, g: g.id });
    const literal = await t.admin.ok(
      `mutation($id: ID!) { updateScenario(id: $id, fallbackGroupId: null) { fallbackGroup { id } } }`,
      { id: s.id },
    );
    expect(literal.updateScenario.fallbackGroup).toBeNull();
  });

  it('updateScenario: NOT_FOUND for the id and for the fallback group; bad names refused; nothing changes', async () => {
    const g = await createGroup(t.admin);
    const name = unique('kept');
    const { createScenario: s } = await t.admin.ok(CREATE, { name, g: g.id });
    await t.admin.fails(UPDATE, { id: UNKNOWN, name: 'x' }, 'NOT_FOUND');
    await t.admin.fails(UPDATE, { id: 'not-an-id', name: 'x' }, 'NOT_FOUND');
    await t.admin.fails(UPDATE, { id: s.id, name: 'changed', g: UNKNOWN }, 'NOT_FOUND', 'fallbackGroupId');
    await t.admin.fails(UPDATE, { id: s.id, name: '' }, 'BAD_USER_INPUT', 'name');
    await t.admin.fails(UPDATE, { id: s.id, name: 'y'.repeat(201) }, 'BAD_USER_INPUT', 'name');
    const { scenarios } = await t.admin.ok(`{ scenarios { id name fallbackGroup { id } } }`);
    expect(scenarios.find((x: { id: string }) => x.id === s.id)).toEqual({ id: s.id, name, fallbackGroup: { id: g.id } });
  });
});

describe('createUser validation', () => {
  const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email } }`;
  const valid = (): Record<string, unknown> => ({
    email: `${unique('user')}@example.com`,
    firstName: 'Grace',
    lastName: 'Hopper',
    role: 'SUPERVISOR',
    password: 'long enough password',
  });

  it.each([
    [{ email: 'not-an-email' }, 'email'],
    [{ email: 'two@@example.com' }, 'email'],
    [{ email: 'no-domain-dot@example' }, 'email'],
    [{ password: 'short' }, 'password'],
    [{ firstName: '' }, 'firstName'],
    [{ firstName: '   ' }, 'firstName'],
    [{ lastName: '' }, 'lastName'],
  ])('refuses %j with BAD_USER_INPUT on %s, and creates nothing', async (patch, field) => {
    const input: Record<string, unknown> = { ...valid(), ...patch };
    await t.admin.fails(CREATE_USER, { input }, 'BAD_USER_INPUT', field);
    const { users } = await t.admin.ok(`{ users { email } }`);
    expect(users.map((u: { email: string }) => u.email)).not.toContain(String(input['email']).toLowerCase());
  });
});

describe('removeOperatorsFromGroup', () => {
  const REMOVE = `mutation($g: ID!, $ops: [ID!]!) { removeOperatorsFromGroup(groupId: $g, operatorIds: $ops) { operators { id } } }`;

  it('answers NOT_FOUND for an unknown group or operator and changes nothing', async () => {
    const op = await createOperator(t.admin);
    const g = await createGroup(t.admin, { operatorIds: [op.id] });
    await t.admin.fails(REMOVE, { g: UNKNOWN, ops: [op.id] }, 'NOT_FOUND', 'groupId');
    await t.admin.fails(REMOVE, { g: g.id, ops: [op.id, UNKNOWN] }, 'NOT_FOUND', 'operatorIds');
    const { group } = await t.admin.ok(`query($id: ID!) { group(id: $id) { operators { id } } }`, { id: g.id });
    expect(group.operators).toEqual([{ id: op.id }]);
  });
});

describe('login', () => {
  it('an account without a password cannot log in, and looks like a wrong password', async () => {
    const email = `${unique('nopass')}@example.com`;
    await t.admin.ok(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { email, firstName: 'No', lastName: 'Password', role: 'SUPERVISOR' },
    });
    const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`;
    const noPassword = await t.client().fails(LOGIN, { e: email, p: 'anything at all' }, 'UNAUTHENTICATED');
    const unknown = await t
      .client()
      .fails(LOGIN, { e: `${unique('nobody')}@example.com`, p: 'anything at all' }, 'UNAUTHENTICATED');
    expect(noPassword.message).toBe(unknown.message);
    await t.client().fails(LOGIN, { e: email, p: '' }, 'UNAUTHENTICATED');
  });
});
