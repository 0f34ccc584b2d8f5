import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/auth/secrets.js';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createOperator, login } from './helpers/factories.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

const TTL_SEC = 3600;
const clock = new ManualClock('2026-06-01T08:00:00.000Z');
let t: TestApp;
let db: pg.Client;
beforeAll(async () => {
  t = await startTestApp({ clock, config: { sessionTtlSec: TTL_SEC } });
  db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
});
afterAll(async () => {
  await db.end();
  await t.stop();
});

const VIEWER = `{ viewer { expiresAt user { id } } }`;

function at(offsetSec: number, from: Date): string {
  return new Date(from.getTime() + offsetSec * 1000).toISOString();
}

async function tokenRow(token: string): Promise<{ expires_at: Date; last_used_at: Date; revoked_at: Date | null }> {
  const { rows } = await db.query('select expires_at, last_used_at, revoked_at from auth_tokens where token_hash = $1', [
    tokenHash(token),
  ]);
  return rows[0];
}

async function liveSocket(token: string): Promise<{ client: Client; closed: Promise<number> }> {
  const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
  const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
  await connected(client);
  return { client, closed };
}

describe('sliding session expiry (SESSION_TTL_SEC)', () => {
  it('a session ends TTL after its last use; each use renews it, at most once a minute', async () => {
    const op = await createOperator(t.admin);
    const loggedInAt = clock.now();
    const token = await login(t.client(), op.email, op.password);
    const session = t.client(token);
    expect((await session.ok(VIEWER)).viewer.expiresAt).toBe(at(TTL_SEC, loggedInAt));

    // Used 30 s later: within the minute, nothing is written.
    clock.advance(30_000);
    expect((await session.ok(VIEWER)).viewer.expiresAt).toBe(at(TTL_SEC, loggedInAt));
    expect((await tokenRow(token)).last_used_at.toISOString()).toBe(loggedInAt.toISOString());

    // Used just before the end: renewed from this use on.
    clock.set(at(TTL_SEC - 1, loggedInAt));
    const renewedAt = clock.now();
    expect((await session.ok(VIEWER)).viewer.expiresAt).toBe(at(TTL_SEC, renewedAt));
    expect((await tokenRow(token)).last_used_at.toISOString()).toBe(renewedAt.toISOString());

    // Still alive past the first deadline, then idle for a whole TTL: gone.
    clock.set(at(TTL_SEC - 1, renewedAt));
    await session.ok(VIEWER);
    const lastUse = clock.now();
    clock.set(at(TTL_SEC, lastUse));
    await session.fails(VIEWER, undefined, 'UNAUTHENTICATED');
    await session.fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
    // A new login works as ever.
    const again = t.client(await login(t.client(), op.email, op.password));
    expect((await again.ok(VIEWER)).viewer.user.id).toEqual(expect.any(String));
    expect((await again.ok(`mutation { logout }`)).logout).toBe(true);
  });

  it("the sweep ends expired sessions and closes their sockets; the user's live session keeps its socket", async () => {
    // Sessions left expired by earlier tests end first, so the count below is this test's.
    await t.app.sweeper.runOnce();
    const op = await createOperator(t.admin);
    const oldToken = await login(t.client(), op.email, op.password);
    // Opening a socket is a use too: this one comes within the minute, so it renews nothing.
    const oldSocket = await liveSocket(oldToken);
    clock.advance((TTL_SEC / 2) * 1000);
    const newToken = await login(t.client(), op.email, op.password);
    const newSocket = await liveSocket(newToken);
    let newClosed = false;
    // `closed` never rejects.
    void newSocket.closed.then(() => (newClosed = true));

    clock.advance((TTL_SEC / 2) * 1000);
    // Expired already for requests, before any sweep.
    await t.client(oldToken).fails(VIEWER, undefined, 'UNAUTHENTICATED');
    expect((await tokenRow(oldToken)).revoked_at).toBeNull();

    const swept = await t.app.sweeper.runOnce();
    expect(swept.sessionsExpired).toBe(1);
    expect(await oldSocket.closed).toBe(4401);
    expect((await tokenRow(oldToken)).revoked_at).not.toBeNull();
    // The live session's socket still answers after the old one's close arrived.
    const ticks = subscribe(newSocket.client, `subscription { slTicks(intervalMs: 250) { serverTime } }`);
    expect((await ticks.next()).slTicks.serverTime).toEqual(expect.any(String));
    expect(newClosed).toBe(false);
    expect((await t.client(newToken).ok(VIEWER)).viewer.expiresAt).not.toBeNull();
    ticks.dispose();
    await oldSocket.client.dispose();
    await newSocket.client.dispose();
    // Nothing left to end.
    expect((await t.app.sweeper.runOnce()).sessionsExpired).toBe(0);
  });
});
