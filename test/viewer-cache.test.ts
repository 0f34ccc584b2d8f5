import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenLookup } from '../src/auth/authenticate.js';
import { Role } from '../src/auth/role.js';
import { ViewerCache } from '../src/auth/viewer-cache.js';
import { LISTENER_APPLICATION_NAME } from '../src/realtime/event-bus.js';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/eventually.js';
import { createOperator, login, unique } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { connected, wsClient } from './helpers/ws.js';

// Two instances on one database, one clock: what one commits, the other learns from the log.
const clock = new ManualClock('2026-06-01T08:00:00.000Z');
let a: TestApp;
let b: TestApp;
let db: pg.Client;
beforeAll(async () => {
  a = await startTestApp({ clock });
  b = await startTestApp({ clock, db: a.db });
  // Background sweeps read auth_tokens too; statement counts must see requests only.
  await Promise.all([a.quiet(), b.quiet()]);
  db = new pg.Client({ connectionString: a.db.url });
  await db.connect();
});
afterAll(async () => {
  await db.end();
  await b.stop();
  await a.stop();
});

const GROUPS = `{ groups { id } }`;
/** Every statement that reads or writes a token row. */
const TOKEN_STATEMENTS = /\bauth_tokens\b/;

async function issue(role = 'INTEGRATION'): Promise<{ id: string; token: string }> {
  const { createApiToken } = await a.admin.ok(
    `mutation($n: String!, $r: Role!) { createApiToken(name: $n, role: $r) { id token } }`,
    { n: unique('cached'), r: role },
  );
  return createApiToken;
}

async function lastUsedAt(tokenId: string): Promise<string> {
  const { rows } = await db.query<{ at: Date }>('select last_used_at as at from auth_tokens where id = $1', [tokenId]);
  return rows[0].at.toISOString();
}

/**
 * Holds the log head's row lock, which numbering events needs: commits go on, but no instance
 * receives an event until `release`.
 */
async function holdDelivery(): Promise<{ release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: a.db.url });
  await holder.connect();
  await holder.query('begin');
  await holder.query('select position from event_log_head for update');
  return {
    release: async () => {
      await holder.query('rollback');
      await holder.end();
    },
  };
}

describe('token → viewer cache', () => {
  it('a token seen once runs no auth statement (HTTP or WebSocket) until its once-a-minute touch is due, which still writes lastUsedAt', async () => {
    const issued = await issue();
    const bot = a.client(issued.token);
    const statements = a.watchStatements(TOKEN_STATEMENTS);
    const firstUse = clock.now().toISOString();
    await bot.ok(GROUPS);
    // Positive control: the first request asked the database (and recorded the use).
    expect(statements()).toBe(1);
    expect(await lastUsedAt(issued.id)).toBe(firstUse);

    await bot.ok(GROUPS);
    const socket = wsClient(a.app.server.wsUrl, issued.token, { lazy: false });
    await connected(socket);
    await socket.dispose();
    clock.advance(59_000);
    await bot.ok(GROUPS);
    expect(statements()).toBe(1);
    expect(await lastUsedAt(issued.id)).toBe(firstUse);

    // A minute after the last recorded use the database is asked again, and the use recorded.
    clock.advance(1_000);
    await bot.ok(GROUPS);
    expect(statements()).toBe(2);
    expect(await lastUsedAt(issued.id)).toBe(clock.now().toISOString());
    await bot.ok(GROUPS);
    expect(statements()).toBe(2);
  });

  it("a session's cached viewer also ends with its expiry, and its touch still slides the expiry", async () => {
    const op = await createOperator(a.admin);
    const session = a.client(await login(a.client(), op.email, op.password));
    const statements = a.watchStatements(TOKEN_STATEMENTS);
    const expiresAt = async (): Promise<string> =>
      (await session.ok<{ viewer: { expiresAt: string } }>(`{ viewer { expiresAt } }`)).viewer.expiresAt;
    const before = await expiresAt();
    await session.ok(GROUPS);
    const seen = statements();
    await session.ok(GROUPS);
    expect(statements()).toBe(seen);
    clock.advance(60_000);
    await session.ok(GROUPS);
    expect(statements()).toBe(seen + 1);
    expect(new Date(await expiresAt()).getTime() - new Date(before).getTime()).toBe(60_000);
  });

  it('a lookup that overlapped an eviction is answered but not kept (it may have read the state from before the change)', async () => {
    const cache = new ViewerCache();
    const now = clock.now();
    const found: TokenLookup = {
      viewer: { role: Role.INTEGRATION, tokenId: 'token', userId: null, operatorId: null },
      until: new Date(now.getTime() + 60_000),
    };
    let finish: (value: TokenLookup) => void = () => undefined;
    const overlapping = cache.resolve('hash', now, () => new Promise<TokenLookup>((resolve) => (finish = resolve)));
    cache.evict((viewer) => viewer.tokenId === 'token');
    finish(found);
    expect(await overlapping).toEqual(found.viewer);
    let lookups = 0;
    const lookup = async (): Promise<TokenLookup> => {
      lookups++;
      return found;
    };
    await cache.resolve('hash', now, lookup);
    expect(lookups).toBe(1);
    // Positive control: a lookup nothing overlapped is kept.
    await cache.resolve('hash', now, lookup);
    expect(lookups).toBe(1);
  });

  it('a token the database refuses is not remembered: a token works from its first request', async () => {
    const issued = await issue();
    await a.client(`${issued.token}x`).fails(GROUPS, undefined, 'UNAUTHENTICATED');
    await a.client(issued.token).ok(GROUPS);
  });
});

const REVOKE = `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`;

describe('invalidation through the event log', () => {
  it('revokeApiToken: refused at once by the instance that revoked; by another instance once the event reaches it', async () => {
    const issued = await issue();
    const statements = b.watchStatements(TOKEN_STATEMENTS);
    for (const app of [a, b]) await app.client(issued.token).ok(GROUPS);
    await b.client(issued.token).ok(GROUPS);
    expect(statements()).toBe(1);

    const held = await holdDelivery();
    try {
      await a.admin.ok(REVOKE, { id: issued.id });
      await a.client(issued.token).fails(GROUPS, undefined, 'UNAUTHENTICATED');
      // Not yet delivered: the other instance still answers from its cache (the bound the README states).
      await b.client(issued.token).ok(GROUPS);
      expect(statements()).toBe(1);
    } finally {
      await held.release();
    }
    await b.settled();
    await b.client(issued.token).fails(GROUPS, undefined, 'UNAUTHENTICATED');
  });

  /** A session used on both instances, so both hold it in their caches. */
  async function cachedSession(): Promise<{ op: { id: string; email: string }; token: string; userId: string }> {
    const op = await createOperator(a.admin);
    const token = await login(a.client(), op.email, op.password);
    for (const app of [a, b]) await app.client(token).ok(GROUPS);
    const { rows } = await db.query<{ user_id: string }>('select user_id from operators where id = $1', [op.id]);
    return { op, token, userId: rows[0].user_id };
  }

  const changes: Array<[string, (s: { op: { id: string }; token: string; userId: string }) => Promise<unknown>]> = [
    ['logout', ({ token }) => a.client(token).ok('mutation { logout }')],
    [
      'setPassword (ends every session)',
      ({ userId }) =>
        a.admin.ok(`mutation($u: ID!, $p: String!) { setPassword(userId: $u, password: $p) }`, {
          u: userId,
          p: 'another horse battery',
        }),
    ],
    ['deleteUser', ({ userId }) => a.admin.ok(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: userId })],
    ['deleteOperator', ({ op }) => a.admin.ok(`mutation($id: ID!) { deleteOperator(id: $id) }`, { id: op.id })],
  ];

  it.each(changes)(
    '%s: refused at once by the instance that made it; by another instance once the event reaches it',
    async (_, change) => {
      const session = await cachedSession();
      const onB: GraphqlClient = b.client(session.token);
      const held = await holdDelivery();
      try {
        await change(session);
        await a.client(session.token).fails(GROUPS, undefined, 'UNAUTHENTICATED');
        await onB.ok(GROUPS);
      } finally {
        await held.release();
      }
      await b.settled();
      await onB.fails(GROUPS, undefined, 'UNAUTHENTICATED');
    },
  );

  it('a viewer kept past a lost event listener is not trusted: the cache empties, and fills again once the listener is back', async () => {
    const issued = await issue();
    const bot = a.client(issued.token);
    await bot.ok(GROUPS);
    expect(a.app.services.auth.viewers.size()).toBeGreaterThan(0);
    const statements = a.watchStatements(TOKEN_STATEMENTS);
    const killed = await db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()`,
      [LISTENER_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBe(2);
    await eventually(() => a.app.services.auth.viewers.size() === 0, 10_000, 'cache emptied');
    await eventually(() => a.app.services.bus.isListening(), 10_000, 'listener back');
    await bot.ok(GROUPS);
    expect(statements()).toBe(1);
    // Positive control: cached again.
    await bot.ok(GROUPS);
    expect(statements()).toBe(1);
  });
});
