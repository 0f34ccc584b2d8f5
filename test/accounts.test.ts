import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { getDialog, lastTransfer, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login, unique } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const VIEWER = `{ viewer { role expiresAt user { id email } apiToken { id name role revokedAt } } }`;
const SET_PASSWORD = `mutation($u: ID!, $p: String!) { setPassword(userId: $u, password: $p) }`;
const CHANGE_PASSWORD = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
const UPDATE_USER = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id email firstName lastName role } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(id: $id) }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`;

async function userIdOf(email: string): Promise<string> {
  const { users } = await t.admin.ok<{ users: Array<{ id: string; email: string }> }>(`{ users { id email } }`);
  const user = users.find((u) => u.email === email);
  if (!user) throw new Error(`no user ${email}`);
  return user.id;
}

async function createUser(
  role: string,
  password: string | null = 'a long enough password',
): Promise<{ id: string; email: string; password: string | null }> {
  const email = `${unique(role.toLowerCase())}@example.com`;
  const { createUser } = await t.admin.ok(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
    input: { email, firstName: 'Grace', lastName: 'Hopper', role, password },
  });
  return { id: createUser.id, email, password };
}

async function liveSocket(token: string): Promise<{ client: Client; closed: Promise<number> }> {
  const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
  const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
  await connected(client);
  return { client, closed };
}

/** Proves a socket is still open: a subscription over it answers. */
async function answers(client: Client): Promise<void> {
  const ticks = subscribe(client, `subscription { slTicks(intervalMs: 250) { serverTime } }`);
  expect((await ticks.next()).slTicks.serverTime).toEqual(expect.any(String));
  ticks.dispose();
}

async function stillWorks(session: GraphqlClient): Promise<void> {
  expect((await session.ok(VIEWER)).viewer.user).not.toBeNull();
}

describe('viewer', () => {
  it('describes each kind of caller: a session, an API token, the ADMIN_TOKEN; none without a token', async () => {
    const op = await createOperator(t.admin);
    const session = t.client(await login(t.client(), op.email, op.password));
    const asSession = (await session.ok(VIEWER)).viewer;
    expect(asSession).toMatchObject({ role: 'OPERATOR', user: { email: op.email }, apiToken: null });
    expect(Date.parse(asSession.expiresAt)).toBeGreaterThan(Date.now());

    const { createApiToken } = await t.admin.ok(
      `mutation { createApiToken(name: "dashboard wall", role: SUPERVISOR) { id token } }`,
    );
    expect((await t.client(createApiToken.token).ok(VIEWER)).viewer).toEqual({
      role: 'SUPERVISOR',
      expiresAt: null,
      user: null,
      apiToken: { id: createApiToken.id, name: 'dashboard wall', role: 'SUPERVISOR', revokedAt: null },
    });
    expect((await t.admin.ok(VIEWER)).viewer).toEqual({ role: 'ADMIN', expiresAt: null, user: null, apiToken: null });
    await t.client().fails(VIEWER, undefined, 'UNAUTHENTICATED');
    // me is unchanged: the session's user, null for tokens.
    expect((await session.ok(`{ me { email } }`)).me).toEqual({ email: op.email });
    expect((await t.client(createApiToken.token).ok(`{ me { id } }`)).me).toBeNull();
  });
});

describe('setPassword', () => {
  it("ADMIN sets a password: an account created without one can log in, and the user's sessions and sockets end", async () => {
    const user = await createUser('SUPERVISOR', null);
    await t.client().fails(LOGIN, { e: user.email, p: 'first password 1' }, 'UNAUTHENTICATED');
    expect((await t.admin.ok(SET_PASSWORD, { u: user.id, p: 'first password 1' })).setPassword).toBe(true);
    const one = t.client(await login(t.client(), user.email, 'first password 1'));
    const two = t.client(await login(t.client(), user.email, 'first password 1'));
    const socket = await liveSocket(one.token!);

    await t.admin.ok(SET_PASSWORD, { u: user.id, p: 'second password 2' });
    await one.fails(VIEWER, undefined, 'UNAUTHENTICATED');
    await two.fails(VIEWER, undefined, 'UNAUTHENTICATED');
    expect(await socket.closed).toBe(4401);
    await socket.client.dispose();
    await t.client().fails(LOGIN, { e: user.email, p: 'first password 1' }, 'UNAUTHENTICATED');
    await stillWorks(t.client(await login(t.client(), user.email, 'second password 2')));
  });

  it('errors: weak passwords BAD_USER_INPUT, unknown user NOT_FOUND, ADMIN only; nothing changes', async () => {
    const user = await createUser('SUPERVISOR');
    const session = t.client(await login(t.client(), user.email, user.password!));
    await t.admin.fails(SET_PASSWORD, { u: user.id, p: 'nine char' }, 'BAD_USER_INPUT', 'password');
    await t.admin.fails(SET_PASSWORD, { u: user.id, p: user.email.toUpperCase() }, 'BAD_USER_INPUT', 'password');
    await t.admin.fails(SET_PASSWORD, { u: user.id, p: 'x'.repeat(1025) }, 'BAD_USER_INPUT', 'password');
    await t.admin.fails(SET_PASSWORD, { u: '00000000-0000-4000-8000-000000000000', p: 'a fine password' }, 'NOT_FOUND', 'userId');
    await t.client(await apiToken(t.admin, 'SUPERVISOR')).fails(SET_PASSWORD, { u: user.id, p: 'a fine password' }, 'FORBIDDEN');
    await session.fails(SET_PASSWORD, { u: user.id, p: 'a fine password' }, 'FORBIDDEN');
    // The old password and the session survived every refusal.
    await stillWorks(session);
    await stillWorks(t.client(await login(t.client(), user.email, user.password!)));
    // Exactly ten characters is enough.
    expect((await t.admin.ok(SET_PASSWORD, { u: user.id, p: 'ten chars!' })).setPassword).toBe(true);
  });
});

describe('changePassword', () => {
  it('the caller proves the current password; their other sessions end, this one and its socket stay', async () => {
    const op = await createOperator(t.admin);
    const current = t.client(await login(t.client(), op.email, op.password));
    const other = t.client(await login(t.client(), op.email, op.password));
    const otherSocket = await liveSocket(other.token!);
    const currentSocket = await liveSocket(current.token!);
    let currentClosed = false;
    // `closed` never rejects.
    void currentSocket.closed.then(() => (currentClosed = true));

    expect((await current.ok(CHANGE_PASSWORD, { c: op.password, n: 'a brand new secret' })).changePassword).toBe(true);
    await other.fails(VIEWER, undefined, 'UNAUTHENTICATED');
    expect(await otherSocket.closed).toBe(4401);
    await answers(currentSocket.client);
    expect(currentClosed).toBe(false);
    await stillWorks(current);
    await t.client().fails(LOGIN, { e: op.email, p: op.password }, 'UNAUTHENTICATED');
    await stillWorks(t.client(await login(t.client(), op.email, 'a brand new secret')));
    await otherSocket.client.dispose();
    await currentSocket.client.dispose();
  });

  it('errors: wrong current password, weak or unchanged new one; API and admin tokens have no password', async () => {
    const op = await createOperator(t.admin);
    const session = t.client(await login(t.client(), op.email, op.password));
    await session.fails(CHANGE_PASSWORD, { c: 'not my password', n: 'a brand new secret' }, 'BAD_USER_INPUT', 'currentPassword');
    await session.fails(CHANGE_PASSWORD, { c: op.password, n: 'short' }, 'BAD_USER_INPUT', 'newPassword');
    await session.fails(CHANGE_PASSWORD, { c: op.password, n: op.email }, 'BAD_USER_INPUT', 'newPassword');
    await session.fails(CHANGE_PASSWORD, { c: op.password, n: op.password }, 'BAD_USER_INPUT', 'newPassword');
    await t
      .client(await apiToken(t.admin, 'SUPERVISOR'))
      .fails(CHANGE_PASSWORD, { c: 'whatever 123', n: 'a brand new secret' }, 'FORBIDDEN');
    await t.admin.fails(CHANGE_PASSWORD, { c: 'whatever 123', n: 'a brand new secret' }, 'FORBIDDEN');
    await t.client().fails(CHANGE_PASSWORD, { c: 'whatever 123', n: 'a brand new secret' }, 'UNAUTHENTICATED');
    // Nothing changed.
    await stillWorks(session);
    await stillWorks(t.client(await login(t.client(), op.email, op.password)));
  });
});

describe('updateUser', () => {
  it('ADMIN changes email and names; the new email logs in; omitted fields stay', async () => {
    const user = await createUser('SUPERVISOR');
    const email = `${unique('renamed')}@example.com`;
    const { updateUser } = await t.admin.ok(UPDATE_USER, {
      id: user.id,
      input: { email: `  ${email.toUpperCase()} `, lastName: 'Lovelace' },
    });
    expect(updateUser).toEqual({ id: user.id, email, firstName: 'Grace', lastName: 'Lovelace', role: 'SUPERVISOR' });
    await stillWorks(t.client(await login(t.client(), email, user.password!)));
    await t.client().fails(LOGIN, { e: user.email, p: user.password }, 'UNAUTHENTICATED');
    // An operator's account is a user too: the operator shows the change.
    const op = await createOperator(t.admin);
    await t.admin.ok(UPDATE_USER, { id: await userIdOf(op.email), input: { firstName: 'Ada K.' } });
    expect((await t.admin.ok(`query($id: ID!) { operator(id: $id) { firstName email } }`, { id: op.id })).operator).toEqual({
      firstName: 'Ada K.',
      email: op.email,
    });
  });

  it('errors: CONFLICT on a taken email, BAD_USER_INPUT with the field, NOT_FOUND, ADMIN only; nothing changes', async () => {
    const user = await createUser('SUPERVISOR');
    const taken = await createUser('OPERATOR');
    await t.admin.fails(
      UPDATE_USER,
      { id: user.id, input: { email: taken.email.toUpperCase(), firstName: 'Changed' } },
      'CONFLICT',
      'email',
    );
    await t.admin.fails(UPDATE_USER, { id: user.id, input: { email: 'not-an-email' } }, 'BAD_USER_INPUT', 'email');
    await t.admin.fails(UPDATE_USER, { id: user.id, input: { firstName: '   ' } }, 'BAD_USER_INPUT', 'firstName');
    await t.admin.fails(UPDATE_USER, { id: user.id, input: { lastName: 'x'.repeat(201) } }, 'BAD_USER_INPUT', 'lastName');
    await t.admin.fails(
      UPDATE_USER,
      { id: '00000000-0000-4000-8000-000000000000', input: { firstName: 'X' } },
      'NOT_FOUND',
      'id',
    );
    await t
      .client(await apiToken(t.admin, 'SUPERVISOR'))
      .fails(UPDATE_USER, { id: user.id, input: { firstName: 'X' } }, 'FORBIDDEN');
    const { users } = await t.admin.ok(`{ users { id email firstName lastName } }`);
    expect(users.find((u: { id: string }) => u.id === user.id)).toEqual({
      id: user.id,
      email: user.email,
      firstName: 'Grace',
      lastName: 'Hopper',
    });
  });
});

describe('deleteUser', () => {
  it("ends the user's sessions and sockets; the account is gone from users and its email free again", async () => {
    const user = await createUser('SUPERVISOR');
    const session = t.client(await login(t.client(), user.email, user.password!));
    const socket = await liveSocket(session.token!);
    expect((await t.admin.ok(DELETE_USER, { id: user.id })).deleteUser).toBe(user.id);
    await session.fails(VIEWER, undefined, 'UNAUTHENTICATED');
    expect(await socket.closed).toBe(4401);
    await socket.client.dispose();
    const { users } = await t.admin.ok(`{ users { id } }`);
    expect(users.map((u: { id: string }) => u.id)).not.toContain(user.id);
    await t.admin.fails(DELETE_USER, { id: user.id }, 'NOT_FOUND', 'id');
    await t.admin.fails(SET_PASSWORD, { u: user.id, p: 'a fine password' }, 'NOT_FOUND', 'userId');
    const fresh = await createUser('SUPERVISOR');
    expect((await t.admin.ok(UPDATE_USER, { id: fresh.id, input: { email: user.email } })).updateUser.email).toBe(user.email);
  });

  it("an operator's account: the operator goes too, and their dialogs are routed again", async () => {
    const g = await createGroup(t.admin);
    const leaving = await createOperator(t.admin, { groupIds: [g.id] });
    await setStatus(t.admin, leaving.id, 'ONLINE');
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const dialog = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(dialog.operator?.id).toBe(leaving.id);
    const staying = await createOperator(t.admin, { groupIds: [g.id] });
    await setStatus(t.admin, staying.id, 'ONLINE');

    await t.admin.ok(DELETE_USER, { id: await userIdOf(leaving.email) });
    const after = await getDialog(t.admin, dialog.id);
    expect(after).toMatchObject({ status: 'ASSIGNED', operator: { id: staying.id } });
    expect((await t.admin.ok(`query($id: ID!) { operator(id: $id) { id } }`, { id: leaving.id })).operator).toBeNull();
    const { operators } = await t.admin.ok(`{ operators { id activeDialogCount } }`);
    expect(operators.find((o: { id: string }) => o.id === staying.id).activeDialogCount).toBe(1);
    expect(operators.map((o: { id: string }) => o.id)).not.toContain(leaving.id);
  });

  it('errors: ADMIN only; unknown ids NOT_FOUND', async () => {
    const user = await createUser('SUPERVISOR');
    await t.client(await apiToken(t.admin, 'SUPERVISOR')).fails(DELETE_USER, { id: user.id }, 'FORBIDDEN');
    await t.admin.fails(DELETE_USER, { id: 'nope' }, 'NOT_FOUND', 'id');
    expect((await t.admin.ok(`{ users { id } }`)).users.map((u: { id: string }) => u.id)).toContain(user.id);
  });
});

describe('deleteScenario', () => {
  it('soft delete: it leaves the catalog and new dialogs cannot name it; dialogs started from it keep it', async () => {
    const g = await createGroup(t.admin);
    const { createScenario } = await t.admin.ok(
      `mutation($g: ID) { createScenario(name: "Returns", fallbackGroupId: $g) { id } }`,
      { g: g.id },
    );
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const dialog = await startDialog(bot, { scenarioId: createScenario.id });

    expect((await t.admin.ok(`mutation($id: ID!) { deleteScenario(id: $id) }`, { id: createScenario.id })).deleteScenario).toBe(
      createScenario.id,
    );
    const { scenarios } = await t.admin.ok(`{ scenarios { id } }`);
    expect(scenarios.map((s: { id: string }) => s.id)).not.toContain(createScenario.id);
    const { dialog: kept } = await t.admin.ok(
      `query($id: ID!) { dialog(id: $id) { scenario { id name deletedAt fallbackGroup { id } } } }`,
      { id: dialog.id },
    );
    expect(kept.scenario).toMatchObject({ id: createScenario.id, name: 'Returns', fallbackGroup: { id: g.id } });
    expect(kept.scenario.deletedAt).not.toBeNull();
    // The bot failing on that dialog still goes to the scenario's fallback group.
    await bot.ok(`mutation($id: ID!) { reportBotFailure(dialogId: $id) { id } }`, { id: dialog.id });
    expect((await lastTransfer(t.admin, dialog.id)).requestedGroup).toEqual({ id: g.id });

    await bot.fails(
      `mutation($s: ID) { startDialog(input: { scenarioId: $s }) { id } }`,
      { s: createScenario.id },
      'NOT_FOUND',
      'scenarioId',
    );
    await t.admin.fails(
      `mutation($id: ID!) { updateScenario(id: $id, name: "Back") { id } }`,
      { id: createScenario.id },
      'NOT_FOUND',
      'id',
    );
    await t.admin.fails(`mutation($id: ID!) { deleteScenario(id: $id) }`, { id: createScenario.id }, 'NOT_FOUND', 'id');
    await t
      .client(await apiToken(t.admin, 'SUPERVISOR'))
      .fails(`mutation($id: ID!) { deleteScenario(id: $id) }`, { id: createScenario.id }, 'FORBIDDEN');
  });
});
