import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { subscribe, wsClient } from './helpers/ws.js';
import { createOperator, unique } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const CREATE_GROUP = `mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;

async function groupNames(): Promise<string[]> {
  const { groups } = await t.admin.ok<{ groups: Array<{ name: string }> }>(`{ groups { name } }`);
  return groups.map((g) => g.name);
}

/** Values GraphQL's Int itself refuses, before any resolver runs. */
const NOT_INT32: Array<[string, number]> = [
  ['a fraction', 1.5],
  ['2^31', 2 ** 31],
  ['3000000000', 3_000_000_000],
];

describe('input values GraphQL cannot coerce answer BAD_USER_INPUT with the field', () => {
  it.each(NOT_INT32)('%s in a variable (nested in an input object)', async (_label, value) => {
    const name = unique('g');
    const error = await t.admin.fails(
      CREATE_GROUP,
      { input: { name, slFirstResponseSec: value, slNextResponseSec: 60 } },
      'BAD_USER_INPUT',
      'slFirstResponseSec',
    );
    expect(error.message).toMatch(/Int cannot represent/);
    expect(await groupNames()).not.toContain(name);
  });

  it.each(NOT_INT32)('%s as a literal', async (_label, value) => {
    const name = unique('g');
    await t.admin.fails(
      `mutation { createGroup(input: { name: "${name}", slFirstResponseSec: ${value}, slNextResponseSec: 60 }) { id } }`,
      undefined,
      'BAD_USER_INPUT',
      'slFirstResponseSec',
    );
    expect(await groupNames()).not.toContain(name);
  });

  it('maxDialogs beyond Int, as a variable and as a literal', async () => {
    const op = await createOperator(t.admin);
    await t.admin.fails(
      `mutation($id: ID!, $input: UpdateOperatorInput!) { updateOperator(id: $id, input: $input) { id } }`,
      { id: op.id, input: { maxDialogs: 3_000_000_000 } },
      'BAD_USER_INPUT',
      'maxDialogs',
    );
    await t.admin.fails(
      `mutation($id: ID!) { updateOperator(id: $id, input: { maxDialogs: 3000000000 }) { id } }`,
      { id: op.id },
      'BAD_USER_INPUT',
      'maxDialogs',
    );
  });

  it('a top-level argument: named by the argument, whatever the variable is called', async () => {
    const TICKS = `subscription($every: Int) { slTicks(intervalMs: $every) { serverTime } }`;
    await t.admin.fails(`query($n: Int) { dialogs(first: $n) { totalCount } }`, { n: 1.5 }, 'BAD_USER_INPUT', 'first');
    await t.admin.fails(`{ dialogs(first: 2147483648) { totalCount } }`, undefined, 'BAD_USER_INPUT', 'first');
    // Over HTTP a subscription is refused before its variables are read (use WebSocket: the next test).
    const result = await t.admin.request(TICKS, { every: 2.5 });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('the same over WebSocket', async () => {
    // graphql-ws reports a refused operation as an error list, a failed execution as a result.
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const literal = subscribe(ws, `subscription { slTicks(intervalMs: 1.5) { serverTime } }`);
    await expect(literal.next()).rejects.toThrow(/subscription failed/);
    expect(literal.errors.flat()[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'intervalMs' } });
    const variable = subscribe(ws, `subscription($n: Int) { slTicks(intervalMs: $n) { serverTime } }`, { n: 2 ** 31 });
    await expect(variable.next()).rejects.toThrow(/subscription failed/);
    expect(variable.errors.flat()[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'intervalMs' } });
    await ws.dispose();
  });

  it('a missing or unknown input field in a variable is named; schema misuse stays a validation failure', async () => {
    await t.admin.fails(CREATE_GROUP, { input: { slFirstResponseSec: 1, slNextResponseSec: 1 } }, 'BAD_USER_INPUT', 'name');
    await t.admin.fails(CREATE_GROUP, {}, 'BAD_USER_INPUT', 'input');
    await t.admin.fails(`{ groups { id nope } }`, undefined, 'GRAPHQL_VALIDATION_FAILED');
    await t.admin.fails(`{ group(nope: 1) { id } }`, undefined, 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe('a variable with more bad values than GraphQL reports', () => {
  it('answers BAD_USER_INPUT for every error, including "too many errors", not INTERNAL_SERVER_ERROR', async () => {
    const result = await t.admin.request(`query($f: DialogFilter) { dialogs(filter: $f) { totalCount } }`, {
      f: { status: Array.from({ length: 100 }, () => 'NOT_A_STATUS') },
    });
    expect(result.status).toBeLessThan(500);
    const errors = result.errors ?? [];
    expect(errors.length).toBeGreaterThan(50);
    expect(errors.at(-1)?.message).toMatch(/Too many errors/);
    for (const error of errors) {
      expect(error.extensions?.code, JSON.stringify(error)).toBe('BAD_USER_INPUT');
      expect(error.extensions?.field, JSON.stringify(error)).toEqual(expect.any(String));
    }
  });
});
