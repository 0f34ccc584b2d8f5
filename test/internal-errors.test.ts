import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggable } from '../src/shared/logger.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createOperator, login } from './helpers/factories.js';
import { wsClient } from './helpers/ws.js';

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
    const op = await createOperator(t.admin);
    const token = await login(t.client(), op.email, op.password);
    // Authenticating the socket now fails inside the database layer.
    await db.query('alter table auth_tokens rename to auth_tokens_away');
    try {
      const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
      const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
        client.on('closed', (event) => resolve(event as { code: number; reason: string })),
      );
      await client.dispose();
      expect(closed.code).toBe(4500);
      expect(closed.reason).toBe('Internal server error');
    } finally {
      await db.query('alter table auth_tokens_away rename to auth_tokens');
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
