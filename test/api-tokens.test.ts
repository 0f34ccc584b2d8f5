import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/auth/secrets.js';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createOperator, login, unique } from './helpers/factories.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

const clock = new ManualClock('2026-06-01T08:00:00.000Z');
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await startTestApp({ clock });
  b = await startTestApp({ clock, db: a.db });
});
afterAll(async () => {
  await b.stop();
  await a.stop();
});

const API_TOKENS = `{ apiTokens { id name role createdAt lastUsedAt revokedAt } }`;
const REVOKE = `mutation($id: ID!) { revokeApiToken(id: $id) { id name role revokedAt } }`;

async function issue(name: string, role = 'INTEGRATION'): Promise<{ id: string; token: string }> {
  const { createApiToken } = await a.admin.ok(
    `mutation($n: String!, $r: Role!) { createApiToken(name: $n, role: $r) { id token } }`,
    {
      n: name,
      r: role,
    },
  );
  return createApiToken;
}

async function listed(id: string): Promise<Record<string, unknown>> {
  const { apiTokens } = await a.admin.ok(API_TOKENS);
  const row = (apiTokens as Array<Record<string, unknown>>).find((t) => t.id === id);
  if (!row) throw new Error(`token ${id} not listed`);
  return row;
}

async function liveSocket(app: TestApp, token: string): Promise<{ client: Client; closed: Promise<number> }> {
  const client = wsClient(app.app.server.wsUrl, token, { lazy: false });
  const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
  await connected(client);
  return { client, closed };
}

describe('apiTokens', () => {
  it('ADMIN lists every API token newest first, never a secret and never a login session', async () => {
    const op = await createOperator(a.admin);
    const session = await login(a.client(), op.email, op.password);
    const older = await issue(unique('older'));
    clock.advance(1000);
    const newer = await issue(unique('newer'), 'SUPERVISOR');
    const response = await a.admin.request(API_TOKENS);
    const { apiTokens } = response.data as { apiTokens: Array<{ id: string; name: string; role: string; createdAt: string }> };
    const ids = apiTokens.map((t) => t.id);
    expect(ids.indexOf(newer.id)).toBeLessThan(ids.indexOf(older.id));
    const times = apiTokens.map((t) => t.createdAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(apiTokens.find((t) => t.id === newer.id)).toMatchObject({ role: 'SUPERVISOR', lastUsedAt: null, revokedAt: null });
    const body = JSON.stringify(response);
    for (const secret of [older.token, newer.token, session]) expect(body).not.toContain(secret);
    expect(body).not.toContain('hov_');
    // Only ADMIN may see them.
    await a.client(newer.token).fails(API_TOKENS, undefined, 'FORBIDDEN');
    await a.client(session).fails(API_TOKENS, undefined, 'FORBIDDEN');
  });

  it('lastUsedAt is coarse: set by a use, then written again only after a minute', async () => {
    const issued = await issue(unique('bot'));
    const bot = a.client(issued.token);
    const firstUse = clock.now().toISOString();
    await bot.ok(`{ groups { id } }`);
    expect((await listed(issued.id)).lastUsedAt).toBe(firstUse);
    clock.advance(59_000);
    await b.client(issued.token).ok(`{ groups { id } }`);
    expect((await listed(issued.id)).lastUsedAt).toBe(firstUse);
    clock.advance(1_000);
    const later = clock.now().toISOString();
    await bot.ok(`{ groups { id } }`);
    expect((await listed(issued.id)).lastUsedAt).toBe(later);
  });
});

describe('revokeApiToken', () => {
  it("takes effect on the other instance as the event arrives: that token's socket closes with 4401, its next request is UNAUTHENTICATED", async () => {
    const leaked = await issue(unique('leaked'));
    const kept = await issue(unique('kept'));
    const leakedSocket = await liveSocket(b, leaked.token);
    const keptSocket = await liveSocket(b, kept.token);
    let keptClosed = false;
    // `closed` never rejects.
    void keptSocket.closed.then(() => (keptClosed = true));
    expect((await b.client(leaked.token).ok(`{ viewer { role } }`)).viewer.role).toBe('INTEGRATION');

    const before = clock.now().toISOString();
    const { revokeApiToken } = await a.admin.ok(REVOKE, { id: leaked.id });
    expect(revokeApiToken).toMatchObject({ id: leaked.id, role: 'INTEGRATION', revokedAt: before });

    // The socket closes once the event has reached that instance, which has evicted the token by then.
    expect(await leakedSocket.closed).toBe(4401);
    await b.client(leaked.token).fails(`{ groups { id } }`, undefined, 'UNAUTHENTICATED');
    // The other token's socket on the same instance stayed open: it still answers.
    const ticks = subscribe(keptSocket.client, `subscription { slTicks(intervalMs: 250) { serverTime } }`);
    expect((await ticks.next()).slTicks.serverTime).toEqual(expect.any(String));
    expect(keptClosed).toBe(false);
    ticks.dispose();
    await keptSocket.client.dispose();
    await leakedSocket.client.dispose();
    // A new socket with the revoked token is refused.
    const refused = wsClient(b.app.server.wsUrl, leaked.token, { lazy: false });
    const refusedCode = new Promise<number>((resolve) => refused.on('closed', (e) => resolve((e as { code: number }).code)));
    expect(await refusedCode).toBe(4401);
    await refused.dispose();

    // Revoking again keeps the first time; the list shows it.
    clock.advance(5_000);
    expect((await a.admin.ok(REVOKE, { id: leaked.id })).revokeApiToken.revokedAt).toBe(before);
    expect((await listed(leaked.id)).revokedAt).toBe(before);
  });

  it('errors: ADMIN only; unknown ids and login sessions are NOT_FOUND', async () => {
    const issued = await issue(unique('target'));
    const supervisor = a.client(await apiToken(a.admin, 'SUPERVISOR'));
    await supervisor.fails(REVOKE, { id: issued.id }, 'FORBIDDEN');
    await a.client().fails(REVOKE, { id: issued.id }, 'UNAUTHENTICATED');
    await a.admin.fails(REVOKE, { id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', 'id');
    await a.admin.fails(REVOKE, { id: 'not-an-id' }, 'NOT_FOUND', 'id');
    const op = await createOperator(a.admin);
    const session = a.client(await login(a.client(), op.email, op.password));
    const { viewer } = await session.ok(`{ viewer { apiToken { id } user { id } } }`);
    expect(viewer.apiToken).toBeNull();
    const sessionId = await tokenIdOf(session.token!);
    await a.admin.fails(REVOKE, { id: sessionId }, 'NOT_FOUND', 'id');
    // The token is untouched by the refused attempts.
    expect((await a.client(issued.token).ok(`{ viewer { apiToken { id revokedAt } } }`)).viewer.apiToken).toEqual({
      id: issued.id,
      revokedAt: null,
    });
  });
});

/** A session's token row id, read from the database (sessions are never listed). */
async function tokenIdOf(token: string): Promise<string> {
  const rows = await a.app.orm.em
    .fork()
    .execute<Array<{ id: string }>>('select id from auth_tokens where token_hash = ?', [tokenHash(token)]);
  return rows[0].id;
}
