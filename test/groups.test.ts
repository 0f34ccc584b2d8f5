import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, createOperator, unique } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const CREATE = `mutation($input: CreateGroupInput!) {
  createGroup(input: $input) { id name slFirstResponseSec slNextResponseSec createdAt operators { id } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateGroupInput!) {
  updateGroup(id: $id, input: $input) { id name slFirstResponseSec slNextResponseSec }
}`;
const GROUP = `query($id: ID!) { group(id: $id) { id name operators { id groups { id } } } }`;

describe('groups', () => {
  it('creates a group with trimmed name, targets and operators', async () => {
    const op = await createOperator(t.admin);
    const name = unique('Sales');
    const { createGroup } = await t.admin.ok(CREATE, {
      input: { name: `  ${name}  `, slFirstResponseSec: 30, slNextResponseSec: 90, operatorIds: [op.id] },
    });
    expect(createGroup).toMatchObject({ name, slFirstResponseSec: 30, slNextResponseSec: 90, operators: [{ id: op.id }] });
    expect(new Date(createGroup.createdAt).toISOString()).toBe(createGroup.createdAt);
    const { groups } = await t.admin.ok(`{ groups { id } }`);
    expect(groups.map((g: { id: string }) => g.id)).toContain(createGroup.id);
  });

  it.each([
    [{ name: '   ' }, 'name'],
    [{ name: 'x'.repeat(201) }, 'name'],
    [{ slFirstResponseSec: 0 }, 'slFirstResponseSec'],
    [{ slFirstResponseSec: 86401 }, 'slFirstResponseSec'],
    [{ slNextResponseSec: -5 }, 'slNextResponseSec'],
    [{ slNextResponseSec: 100000 }, 'slNextResponseSec'],
  ])('rejects %j with BAD_USER_INPUT on %s', async (patch, field) => {
    const input = { name: unique('g'), slFirstResponseSec: 10, slNextResponseSec: 10, ...patch };
    await t.admin.fails(CREATE, { input }, 'BAD_USER_INPUT', field);
    const { groups } = await t.admin.ok(`{ groups { name } }`);
    expect(groups.map((g: { name: string }) => g.name)).not.toContain(input.name);
  });

  it('accepts a 200-character name (the limit)', async () => {
    const name = `${unique('n')}`.padEnd(200, 'x');
    const { createGroup } = await t.admin.ok(CREATE, { input: { name, slFirstResponseSec: 1, slNextResponseSec: 86400 } });
    expect(createGroup.name).toBe(name);
  });

  it('refuses a duplicate name, case-insensitively, with CONFLICT', async () => {
    const g = await createGroup(t.admin);
    await t.admin.fails(
      CREATE,
      { input: { name: g.name.toUpperCase(), slFirstResponseSec: 1, slNextResponseSec: 1 } },
      'CONFLICT',
      'name',
    );
    const other = await createGroup(t.admin);
    await t.admin.fails(UPDATE, { id: other.id, input: { name: ` ${g.name.toUpperCase()} ` } }, 'CONFLICT', 'name');
  });

  it('writes nothing when an operator id is unknown', async () => {
    const name = unique('half');
    await t.admin.fails(
      CREATE,
      { input: { name, slFirstResponseSec: 1, slNextResponseSec: 1, operatorIds: ['00000000-0000-4000-8000-000000000000'] } },
      'NOT_FOUND',
      'operatorIds',
    );
    const { groups } = await t.admin.ok(`{ groups { name } }`);
    expect(groups.map((g: { name: string }) => g.name)).not.toContain(name);
  });

  it('updates only the given fields and validates them', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 11, slNextResponseSec: 22 });
    const { updateGroup } = await t.admin.ok(UPDATE, { id: g.id, input: { slNextResponseSec: 33 } });
    expect(updateGroup).toMatchObject({ name: g.name, slFirstResponseSec: 11, slNextResponseSec: 33 });
    await t.admin.fails(UPDATE, { id: g.id, input: { name: '' } }, 'BAD_USER_INPUT', 'name');
    await t.admin.fails(UPDATE, { id: g.id, input: { slFirstResponseSec: 0 } }, 'BAD_USER_INPUT', 'slFirstResponseSec');
    await t.admin.fails(UPDATE, { id: 'nope', input: { name: 'x' } }, 'NOT_FOUND');
    await t.admin.fails(UPDATE, { id: '00000000-0000-4000-8000-000000000000', input: {} }, 'NOT_FOUND');
  });

  it('edits membership from the group side, idempotently', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin);
    const b = await createOperator(t.admin);
    const ADD = `mutation($g: ID!, $ops: [ID!]!) { addOperatorsToGroup(groupId: $g, operatorIds: $ops) { operators { id } } }`;
    const REMOVE = `mutation($g: ID!, $ops: [ID!]!) { removeOperatorsFromGroup(groupId: $g, operatorIds: $ops) { operators { id } } }`;
    let res = await t.admin.ok(ADD, { g: g.id, ops: [a.id, b.id] });
    expect(res.addOperatorsToGroup.operators.map((o: { id: string }) => o.id).sort()).toEqual([a.id, b.id].sort());
    res = await t.admin.ok(ADD, { g: g.id, ops: [a.id] });
    expect(res.addOperatorsToGroup.operators).toHaveLength(2);
    res = await t.admin.ok(REMOVE, { g: g.id, ops: [a.id] });
    expect(res.removeOperatorsFromGroup.operators).toEqual([{ id: b.id }]);
    await t.admin.fails(ADD, { g: g.id, ops: ['00000000-0000-4000-8000-000000000001'] }, 'NOT_FOUND', 'operatorIds');
    await t.admin.fails(ADD, { g: '00000000-0000-4000-8000-000000000001', ops: [a.id] }, 'NOT_FOUND', 'groupId');
  });

  it('answers each mutation of one request as of its own commit', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin);
    const { add, remove, rename } = await t.admin.ok(
      `mutation($g: ID!, $ops: [ID!]!, $name: String!) {
        add: addOperatorsToGroup(groupId: $g, operatorIds: $ops) { name operators { id groups { id } } }
        remove: removeOperatorsFromGroup(groupId: $g, operatorIds: $ops) { name operators { id } }
        rename: updateGroup(id: $g, input: { name: $name }) { name operators { id } }
      }`,
      { g: g.id, ops: [a.id], name: unique('Renamed') },
    );
    // The second and third answers load the same group and its members again, after the change before them.
    expect(add.operators).toEqual([{ id: a.id, groups: [{ id: g.id }] }]);
    expect(remove.operators).toEqual([]);
    expect(remove.name).toBe(g.name);
    expect(rename.name).not.toBe(g.name);
  });

  it('deleting a group unlinks its operators, keeps them and their other groups, and clears scenario fallbacks', async () => {
    const doomed = await createGroup(t.admin);
    const kept = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [doomed.id, kept.id] });
    const { createScenario } = await t.admin.ok(
      `mutation($g: ID) { createScenario(name: "Onboarding", fallbackGroupId: $g) { id fallbackGroup { id } } }`,
      { g: doomed.id },
    );
    expect(createScenario.fallbackGroup.id).toBe(doomed.id);

    const { deleteGroup } = await t.admin.ok(`mutation($id: ID!) { deleteGroup(id: $id) }`, { id: doomed.id });
    expect(deleteGroup).toBe(doomed.id);

    const after = await t.admin.ok(
      `query($id: ID!, $g: ID!) { operator(id: $id) { id groups { id } } group(id: $g) { id } scenarios { id fallbackGroup { id } } }`,
      { id: op.id, g: doomed.id },
    );
    expect(after.operator.groups).toEqual([{ id: kept.id }]);
    expect(after.group).toBeNull();
    expect(after.scenarios.find((s: { id: string }) => s.id === createScenario.id).fallbackGroup).toBeNull();
    await t.admin.fails(`mutation($id: ID!) { deleteGroup(id: $id) }`, { id: doomed.id }, 'NOT_FOUND');
    // The name is free again.
    await createGroup(t.admin, { name: doomed.name });
  });

  it('reads a group with nested operators and their groups', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const { group } = await t.admin.ok(GROUP, { id: g.id });
    expect(group.operators).toEqual([{ id: op.id, groups: [{ id: g.id }] }]);
    expect((await t.admin.ok(GROUP, { id: 'not-an-id' })).group).toBeNull();
  });
});
