import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createOperator, login } from './helpers/factories.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role operator { id } } } }`;
const STATUS = `mutation($s: OperatorStatus!, $id: ID) { setOperatorStatus(status: $s, operatorId: $id) { id status lastActivityAt } }`;

describe('login and sessions', () => {
  it('logs in with email (any case) and password; wrong password and unknown email look the same', async () => {
    const op = await createOperator(t.admin);
    const { login: session } = await t.client().ok(LOGIN, { e: op.email.toUpperCase(), p: op.password });
    expect(session.user).toEqual({ email: op.email, role: 'OPERATOR', operator: { id: op.id } });
    expect(session.token).toMatch(/^hov_/);
    const wrong = await t.client().fails(LOGIN, { e: op.email, p: 'wrong password' }, 'UNAUTHENTICATED');
    const unknown = await t.client().fails(LOGIN, { e: 'nobody@example.com', p: 'whatever1' }, 'UNAUTHENTICATED');
    expect(wrong.message).toBe(unknown.message);
  });

  it('me: the session user; null for the ADMIN_TOKEN and API tokens; UNAUTHENTICATED without a token', async () => {
    expect((await t.admin.ok(`{ me { id } }`)).me).toBeNull();
    expect((await t.client(await apiToken(t.admin, 'SUPERVISOR')).ok(`{ me { id } }`)).me).toBeNull();
    await t.client().fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
    await t.client('hov_not-a-real-token').fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
  });

  it('logout ends the session and takes the operator offline; API tokens have no session to end', async () => {
    const op = await createOperator(t.admin);
    const session = t.client(await login(t.client(), op.email, op.password));
    await session.ok(STATUS, { s: 'ONLINE' });
    expect((await session.ok(`mutation { logout }`)).logout).toBe(true);
    await session.fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
    const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { status } }`, { id: op.id });
    expect(operator.status).toBe('OFFLINE');
    const integration = t.client(await apiToken(t.admin, 'INTEGRATION'));
    expect((await integration.ok(`mutation { logout }`)).logout).toBe(false);
    expect((await t.admin.ok(`mutation { logout }`)).logout).toBe(false);
  });
});

describe('API tokens', () => {
  it('are shown once, work with their role, and are stored only as a hash', async () => {
    const { createApiToken } = await t.admin.ok(
      `mutation { createApiToken(name: "bot runtime", role: INTEGRATION) { id name role token } }`,
    );
    expect(createApiToken).toMatchObject({ name: 'bot runtime', role: 'INTEGRATION' });
    const bot = t.client(createApiToken.token);
    expect((await bot.ok(`{ groups { id } }`)).groups).toEqual(expect.any(Array));
    await bot.fails(`{ users { id } }`, undefined, 'FORBIDDEN');
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    const { rows } = await db.query(`select * from auth_tokens where id = $1`, [createApiToken.id]);
    await db.end();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(createApiToken.token);
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    await t.admin.fails(`mutation { createApiToken(name: "  ", role: ADMIN) { id } }`, undefined, 'BAD_USER_INPUT', 'name');
  });
});

describe('setOperatorStatus', () => {
  it('an operator sets their own status; another operator is FORBIDDEN; supervisors set anyone', async () => {
    const a = await createOperator(t.admin);
    const b = await createOperator(t.admin);
    const sessionA = t.client(await login(t.client(), a.email, a.password));
    const { setOperatorStatus } = await sessionA.ok(STATUS, { s: 'ONLINE' });
    expect(setOperatorStatus).toMatchObject({ id: a.id, status: 'ONLINE' });
    expect(setOperatorStatus.lastActivityAt).not.toBeNull();
    await sessionA.fails(STATUS, { s: 'ONLINE', id: b.id }, 'FORBIDDEN');
    const supervisor = t.client(await apiToken(t.admin, 'SUPERVISOR'));
    expect((await supervisor.ok(STATUS, { s: 'ONLINE', id: b.id })).setOperatorStatus.status).toBe('ONLINE');
    await supervisor.fails(STATUS, { s: 'OFFLINE' }, 'BAD_USER_INPUT', 'operatorId');
    await supervisor.fails(STATUS, { s: 'OFFLINE', id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', 'operatorId');
  });
});

describe('WebSocket authentication', () => {
  async function closeCode(token?: string): Promise<number> {
    const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
    return new Promise((resolve) => {
      client.on('closed', (event) => {
        resolve((event as { code: number }).code);
        // Disposing a client that already closed cannot fail.
        void client.dispose();
      });
    });
  }

  it('refuses a connection without a valid token with 4401', async () => {
    expect(await closeCode()).toBe(4401);
    expect(await closeCode('hov_wrong')).toBe(4401);
  });

  it('accepts a valid token, and closes the socket with 4401 when the session ends', async () => {
    const admin = wsClient(t.app.server.wsUrl, ADMIN_TOKEN, { lazy: false });
    await connected(admin);
    await admin.dispose();

    const op = await createOperator(t.admin);
    const token = await login(t.client(), op.email, op.password);
    const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
    const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
    await connected(client);
    const sub = subscribe(client, `subscription { myDialogs { type } }`);
    await t.client(token).ok(`mutation { logout }`);
    expect(await closed).toBe(4401);
    sub.dispose();
    await client.dispose();
  });
});
