import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { lockAwaited, withConnections } from './helpers/database.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator, login, unique } from './helpers/factories.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { assertInvariants } from './helpers/invariants.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const CREATE = `mutation($input: CreateOperatorInput!) {
  createOperator(input: $input) { id firstName lastName email maxDialogs autoLogoutSec status activeDialogCount lastActivityAt groups { id } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateOperatorInput!) {
  updateOperator(id: $id, input: $input) { id firstName lastName email maxDialogs autoLogoutSec groups { id } }
}`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { id email role operator { id maxDialogs status } } }`;

function input(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { firstName: 'Grace', lastName: 'Hopper', email: `${unique('op')}@Example.com`, ...extra };
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
  try {
    return Number((await db.query(sql, params)).rows[0].n);
  } finally {
    await db.end();
  }
}

describe('operators', () => {
  it('creates an operator with defaults and a user account (email stored lower-case)', async () => {
    const g = await createGroup(t.admin);
    const data = input({ groupIds: [g.id], password: 'long enough pw' });
    const { createOperator: op } = await t.admin.ok(CREATE, { input: data });
    expect(op).toMatchObject({
      firstName: 'Grace',
      lastName: 'Hopper',
      email: String(data.email).toLowerCase(),
      maxDialogs: 300,
      autoLogoutSec: 0,
      status: 'OFFLINE',
      activeDialogCount: 0,
      lastActivityAt: null,
      groups: [{ id: g.id }],
    });
    const { users } = await t.admin.ok(`{ users { email role operator { id } } }`);
    expect(users).toContainEqual({ email: op.email, role: 'OPERATOR', operator: { id: op.id } });
    const token = await login(t.client(), String(data.email).toUpperCase(), 'long enough pw');
    const { me } = await t.client(token).ok(`{ me { email role operator { id } } }`);
    expect(me).toEqual({ email: op.email, role: 'OPERATOR', operator: { id: op.id } });
  });

  it('createUser with role OPERATOR creates the operator profile; other roles have none', async () => {
    const email = `${unique('u')}@example.com`;
    const { createUser } = await t.admin.ok(CREATE_USER, { input: { email, firstName: 'A', lastName: 'B', role: 'OPERATOR' } });
    expect(createUser.operator).toMatchObject({ maxDialogs: 300, status: 'OFFLINE' });
    const { operators } = await t.admin.ok(`{ operators { id email } }`);
    expect(operators).toContainEqual({ id: createUser.operator.id, email });
    const sup = await t.admin.ok(CREATE_USER, {
      input: { email: `${unique('s')}@example.com`, firstName: 'S', lastName: 'V', role: 'SUPERVISOR' },
    });
    expect(sup.createUser).toMatchObject({ role: 'SUPERVISOR', operator: null });
  });

  it('updates names, email, limits, and replaces groups from the operator side', async () => {
    const [g1, g2, g3] = [await createGroup(t.admin), await createGroup(t.admin), await createGroup(t.admin)];
    const op = await createOperator(t.admin, { groupIds: [g1.id, g2.id] });
    const email = `${unique('new')}@example.com`;
    const { updateOperator } = await t.admin.ok(UPDATE, {
      id: op.id,
      input: { firstName: ' Ada ', email, maxDialogs: 7, autoLogoutSec: 600, groupIds: [g3.id, g2.id] },
    });
    expect(updateOperator).toMatchObject({ firstName: 'Ada', lastName: 'Operator', email, maxDialogs: 7, autoLogoutSec: 600 });
    expect(updateOperator.groups.map((g: { id: string }) => g.id).sort()).toEqual([g2.id, g3.id].sort());
    const { group } = await t.admin.ok(`query($id: ID!) { group(id: $id) { operators { id } } }`, { id: g1.id });
    expect(group.operators).toEqual([]);
    const cleared = await t.admin.ok(UPDATE, { id: op.id, input: { groupIds: [] } });
    expect(cleared.updateOperator.groups).toEqual([]);
  });

  it.each([
    [{ firstName: '  ' }, 'firstName'],
    [{ lastName: 'x'.repeat(201) }, 'lastName'],
    [{ email: 'not-an-email' }, 'email'],
    [{ password: 'short' }, 'password'],
    [{ maxDialogs: 0 }, 'maxDialogs'],
    [{ maxDialogs: 10001 }, 'maxDialogs'],
    [{ autoLogoutSec: -1 }, 'autoLogoutSec'],
    [{ autoLogoutSec: 604801 }, 'autoLogoutSec'],
  ])('rejects %j with BAD_USER_INPUT on %s and writes nothing', async (patch, field) => {
    const data = input(patch);
    await t.admin.fails(CREATE, { input: data }, 'BAD_USER_INPUT', field);
    const emailText = typeof data.email === 'string' ? data.email.toLowerCase() : '';
    expect(await count('select count(*) as n from users where email = $1', [emailText])).toBe(0);
  });

  it('validates updates field by field', async () => {
    const op = await createOperator(t.admin);
    for (const [patch, field] of [
      [{ firstName: '' }, 'firstName'],
      [{ email: 'a@b' }, 'email'],
      [{ maxDialogs: 20000 }, 'maxDialogs'],
      [{ autoLogoutSec: 700000 }, 'autoLogoutSec'],
    ] as const) {
      await t.admin.fails(UPDATE, { id: op.id, input: patch }, 'BAD_USER_INPUT', field);
    }
    await t.admin.fails(
      UPDATE,
      { id: op.id, input: { groupIds: ['00000000-0000-4000-8000-000000000000'] } },
      'NOT_FOUND',
      'groupIds',
    );
    await t.admin.fails(UPDATE, { id: 'bogus', input: {} }, 'NOT_FOUND');
    const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { maxDialogs } }`, { id: op.id });
    expect(operator.maxDialogs).toBe(300);
  });

  it('refuses duplicate emails case-insensitively with CONFLICT, from every side', async () => {
    const existing = await createOperator(t.admin);
    const upper = existing.email.toUpperCase();
    await t.admin.fails(CREATE, { input: input({ email: upper }) }, 'CONFLICT', 'email');
    await t.admin.fails(
      CREATE_USER,
      { input: { email: upper, firstName: 'A', lastName: 'B', role: 'ADMIN' } },
      'CONFLICT',
      'email',
    );
    const other = await createOperator(t.admin);
    await t.admin.fails(UPDATE, { id: other.id, input: { email: upper } }, 'CONFLICT', 'email');
  });

  it('writes nothing when a group id is unknown', async () => {
    const data = input({ groupIds: ['00000000-0000-4000-8000-000000000000'] });
    await t.admin.fails(CREATE, { input: data }, 'NOT_FOUND', 'groupIds');
    expect(await count('select count(*) as n from users where email = $1', [String(data.email).toLowerCase()])).toBe(0);
    expect(
      await count('select count(*) as n from operators o join users u on u.id = o.user_id where u.email = $1', [
        String(data.email).toLowerCase(),
      ]),
    ).toBe(0);
  });

  it('deletes an operator: gone from lists and groups, sessions end, the email is free again', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const session = t.client(await login(t.client(), op.email, op.password));
    expect((await session.ok(`{ me { id } }`)).me).not.toBeNull();
    const { deleteOperator } = await t.admin.ok(`mutation($id: ID!) { deleteOperator(id: $id) }`, { id: op.id });
    expect(deleteOperator).toBe(op.id);
    const after = await t.admin.ok(
      `query($g: ID!, $id: ID!) { operators { id } group(id: $g) { operators { id } } operator(id: $id) { id } }`,
      {
        g: g.id,
        id: op.id,
      },
    );
    expect(after.operators.map((o: { id: string }) => o.id)).not.toContain(op.id);
    expect(after.group.operators).toEqual([]);
    expect(after.operator).toBeNull();
    await session.fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
    await t.admin.fails(`mutation($id: ID!) { deleteOperator(id: $id) }`, { id: op.id }, 'NOT_FOUND');
    await createOperator(t.admin, { email: op.email });
  });

  it('filters operators by group and status', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id] });
    const b = await createOperator(t.admin, { groupIds: [g.id] });
    await createOperator(t.admin);
    await t.admin.ok(`mutation($id: ID!) { setOperatorStatus(operatorId: $id, status: ONLINE) { id } }`, { id: a.id });
    const q = `query($g: ID, $s: OperatorStatus) { operators(groupId: $g, status: $s) { id } }`;
    expect((await t.admin.ok(q, { g: g.id })).operators.map((o: { id: string }) => o.id).sort()).toEqual([a.id, b.id].sort());
    expect((await t.admin.ok(q, { g: g.id, s: 'ONLINE' })).operators).toEqual([{ id: a.id }]);
    expect((await t.admin.ok(q, { g: g.id, s: 'OFFLINE' })).operators).toEqual([{ id: b.id }]);
  });
});

describe('mutation answers', () => {
  it('setOperatorStatus and updateOperator answer with the load after re-routing and draining', async () => {
    const own = await startTestApp();
    try {
      const bot = own.client(await apiToken(own.admin, 'INTEGRATION'));
      const g = await createGroup(own.admin);
      const a = await createOperator(own.admin, { groupIds: [g.id], maxDialogs: 2 });
      const b = await createOperator(own.admin, { groupIds: [g.id], maxDialogs: 5 });
      const STATUS = `mutation($id: ID!, $s: OperatorStatus!) { setOperatorStatus(operatorId: $id, status: $s) { status activeDialogCount } }`;
      const queued = [];
      for (let i = 0; i < 3; i++) queued.push(await transfer(bot, (await startDialog(bot)).id, { groupId: g.id }));
      expect(queued.map((d) => d.status)).toEqual(['QUEUED', 'QUEUED', 'QUEUED']);

      // Coming online drains two queued dialogs in the same transaction.
      expect((await own.admin.ok(STATUS, { id: a.id, s: 'ONLINE' })).setOperatorStatus).toEqual({
        status: 'ONLINE',
        activeDialogCount: 2,
      });
      // Raising the maximum drains the third.
      const { updateOperator } = await own.admin.ok(
        `mutation($id: ID!) { updateOperator(id: $id, input: { maxDialogs: 4 }) { maxDialogs activeDialogCount } }`,
        { id: a.id },
      );
      expect(updateOperator).toEqual({ maxDialogs: 4, activeDialogCount: 3 });
      // Going offline re-routes all three to b.
      await own.admin.ok(STATUS, { id: b.id, s: 'ONLINE' });
      expect((await own.admin.ok(STATUS, { id: a.id, s: 'OFFLINE' })).setOperatorStatus).toEqual({
        status: 'OFFLINE',
        activeDialogCount: 0,
      });
      const { operator } = await own.admin.ok(`query($id: ID!) { operator(id: $id) { activeDialogCount } }`, { id: b.id });
      expect(operator.activeDialogCount).toBe(3);
      await assertInvariants(own.db.url);
    } finally {
      await own.stop();
    }
  });

  it("a mutation's later root fields answer with what the earlier ones committed", async () => {
    const own = await startTestApp();
    try {
      const bot = own.client(await apiToken(own.admin, 'INTEGRATION'));
      const op = await createOperator(own.admin, { maxDialogs: 3 });
      await own.admin.ok(`mutation($id: ID!) { setOperatorStatus(operatorId: $id, status: ONLINE) { id } }`, { id: op.id });
      const [d1, d2] = [await startDialog(bot), await startDialog(bot)];
      // `first` loads the operator into the request (its loaders and entity cache); the next
      // fields change its load by SQL.
      const answer = await own.admin.ok(
        `mutation($o: ID!, $d1: ID!, $d2: ID!) {
          first: transferDialog(dialogId: $d1, to: { operatorId: $o }) { operator { activeDialogCount } }
          second: transferDialog(dialogId: $d2, to: { operatorId: $o }) { operator { activeDialogCount } }
          after: updateOperator(id: $o, input: {}) { activeDialogCount }
        }`,
        { o: op.id, d1: d1.id, d2: d2.id },
      );
      expect(answer).toEqual({
        first: { operator: { activeDialogCount: 1 } },
        second: { operator: { activeDialogCount: 2 } },
        after: { activeDialogCount: 2 },
      });
    } finally {
      await own.stop();
    }
  });
});

describe('lock order', () => {
  it('logout locks the operator before ending the session, as auto-logout and deletion do', async () => {
    const op = await createOperator(t.admin);
    const session = t.client(await login(t.client(), op.email, op.password));
    await session.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    // Another transaction (as an auto-logout would) holds the operator row.
    await withConnections(t.db.url, 2, async ([holder, probe]) => {
      await holder.query('begin');
      await holder.query('select id from operators where id = $1 for update', [op.id]);
      const logout = session.ok(`mutation { logout }`);
      await eventually(() => lockAwaited(probe), 10_000, 'the logout waiting for the operator row');
      // The waiting logout holds no session row yet, so the holder could still end sessions.
      await probe.query('begin');
      await probe.query(
        `select id from auth_tokens where user_id = (select user_id from operators where id = $1) for update nowait`,
        [op.id],
      );
      await probe.query('rollback');
      await holder.query('commit');
      expect((await logout).logout).toBe(true);
      const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { status } }`, { id: op.id });
      expect(operator.status).toBe('OFFLINE');
    });
  });
});
