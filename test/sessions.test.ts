import type { Client } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENER_APPLICATION_NAME } from '../src/realtime/event-bus.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/eventually.js';
import { createOperator, login } from './helpers/factories.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
let db: pg.Client;
beforeAll(async () => {
  t = await startTestApp();
  db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
});
afterAll(async () => {
  await db.end();
  await t.stop();
});

/** An operator's live WebSocket session, and the close code it ends with. */
async function liveSocket(token: string): Promise<{ client: Client; closed: Promise<number>; dispose: () => Promise<void> }> {
  const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
  const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
  await connected(client);
  return { client, closed, dispose: async () => client.dispose() };
}

function readyz(): Promise<number> {
  return fetch(t.app.url.replace('/graphql', '/readyz')).then((r) => r.status);
}

describe('ending sessions', () => {
  it('deletes an operator with 300 sessions and closes their open socket', async () => {
    const op = await createOperator(t.admin);
    const token = await login(t.client(), op.email, op.password);
    const { rows } = await db.query<{ user_id: string }>('select user_id from operators where id = $1', [op.id]);
    const userId = rows[0].user_id;
    // Earlier logins that were never logged out and have not expired yet.
    await db.query(
      `insert into auth_tokens (id, kind, role, user_id, token_hash, created_at, expires_at)
       select gen_random_uuid(), 'SESSION', 'OPERATOR', $1, md5(random()::text || i) || md5(i::text), now(), now() + interval '1 hour'
         from generate_series(1, 299) as i`,
      [userId],
    );
    const socket = await liveSocket(token);
    await t.admin.ok(`mutation($id: ID!) { deleteOperator(id: $id) }`, { id: op.id });
    expect(await socket.closed).toBe(4401);
    const open = await db.query('select count(*)::int as n from auth_tokens where user_id = $1 and revoked_at is null', [userId]);
    expect(open.rows[0].n).toBe(0);
    await socket.dispose();
  });

  it('/readyz answers 503 while the database does not answer its checks (within its time limit), 200 once it does', async () => {
    expect(await readyz()).toBe(200);
    // The checks read the applied migrations: held by another transaction, they wait as for a
    // database that stopped answering.
    const blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table mikro_orm_migrations in access exclusive mode');
      expect(await readyz()).toBe(503);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    await eventually(async () => (await readyz()) === 200, 10_000, '/readyz recovering');
  });

  it('a session ended while the event listener was away still closes its socket once it catches up; /readyz shows the outage', async () => {
    const a = await createOperator(t.admin);
    const b = await createOperator(t.admin);
    const tokenA = await login(t.client(), a.email, a.password);
    const tokenB = await login(t.client(), b.email, b.password);
    const socketA = await liveSocket(tokenA);
    const socketB = await liveSocket(tokenB);
    let bClosed = false;
    // `closed` never rejects.
    void socketB.closed.then(() => (bClosed = true));
    expect(await readyz()).toBe(200);

    const killed = await db.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()`,
      [LISTENER_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBe(1);
    await eventually(async () => (await readyz()) === 503, 5000, '/readyz reporting the lost listener');
    // A session ended while nobody listened: the process reads it from the log when it is back.
    expect((await t.client(tokenA).ok<{ logout: boolean }>('mutation { logout }')).logout).toBe(true);

    expect(await socketA.closed).toBe(4401);
    await eventually(async () => (await readyz()) === 200, 10_000, '/readyz recovering');
    // A still valid session keeps its socket.
    const ticks = subscribe(socketB.client, `subscription { slTicks(intervalMs: 250) { serverTime } }`);
    expect((await ticks.next()).slTicks.serverTime).toEqual(expect.any(String));
    expect(bClosed).toBe(false);
    await socketA.dispose();
    await socketB.dispose();
  });
});
