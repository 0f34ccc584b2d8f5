import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DATABASE_UNAVAILABLE_CLOSE } from '../src/realtime/websocket-server.js';
import { loggable } from '../src/shared/logger.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
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

describe('internal errors reveal nothing', () => {
  it('a WebSocket closed by an internal failure gets a generic reason', async () => {
    // A failure that is not the database's (that one is retried, below): a bug's own message
    // must not reach the client.
    const failing = vi
      .spyOn(t.app.services.auth, 'authenticate')
      .mockRejectedValueOnce(new Error('a bug that names secret-detail-42'));
    try {
      const client = wsClient(t.app.server.wsUrl, ADMIN_TOKEN, { lazy: false });
      const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
        client.on('closed', (event) => resolve(event as { code: number; reason: string })),
      );
      await client.dispose();
      expect(closed.code).toBe(4500);
      expect(closed.reason).toBe('Internal server error');
    } finally {
      failing.mockRestore();
    }
  });

  it('a WebSocket that cannot be authenticated while the database is away is closed with 1013, and its client connects again', async () => {
    const op = await createOperator(t.admin);
    const token = await login(t.client(), op.email, op.password);
    // Authenticating the socket now fails inside the database layer.
    await db.query('alter table auth_tokens rename to auth_tokens_away');
    let restored = false;
    const closes: Array<{ code: number; reason: string }> = [];
    // graphql-ws retries 1013 (it would not retry 4500); quickly here.
    const client = wsClient(t.app.server.wsUrl, token, {
      lazy: false,
      retryAttempts: 100,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    client.on('closed', (event) => {
      closes.push(event as { code: number; reason: string });
      if (!restored) {
        restored = true;
        void db.query('alter table auth_tokens_away rename to auth_tokens');
      }
    });
    try {
      await connected(client, 20_000);
      expect(closes.length).toBeGreaterThan(0);
      for (const close of closes) expect(close).toMatchObject(DATABASE_UNAVAILABLE_CLOSE);
      // Connected as the operator it is: the socket's operations run.
      const viewer = subscribe<{ viewer: { role: string } }>(client, '{ viewer { role } }');
      expect((await viewer.next()).viewer.role).toBe('OPERATOR');
    } finally {
      await client.dispose();
      if (!restored) await db.query('alter table auth_tokens_away rename to auth_tokens');
    }
  });

  it('the log of a database error names its code and constraint, not the values in the statement', async () => {
    const op = await createOperator(t.admin);
    const secret = 'argon2-hash-that-must-not-be-logged';
    const error = await t.app.orm.em
      .fork()
      .execute(
        `insert into users (id, email, first_name, last_name, role, password_hash, created_at)
         values (gen_random_uuid(), ?, 'A', 'B', 'OPERATOR', ?, now())`,
        [op.email, secret],
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    // Values are bound, not inlined: the message names what failed, without them...
    expect(String((error as Error).message)).toContain('users_email_live_unique');
    expect(String((error as Error).message)).not.toContain(secret);
    // ...but the server's detail names the clashing key: what would have been logged.
    expect(String((error as { detail?: unknown }).detail)).toContain(op.email);
    const logged = String(loggable(error));
    expect(logged).toContain('sqlstate 23505');
    expect(logged).toContain('users_email_live_unique');
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(op.email);
    const plain = new Error('a bug');
    expect(loggable(plain)).toBe(plain);
  });
});
