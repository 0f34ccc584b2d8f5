import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DATABASE_UNAVAILABLE_CLOSE } from '../src/realtime/websocket-server.js';
import { DATABASE_UNAVAILABLE_MESSAGE } from '../src/shared/errors.js';
import { loggable } from '../src/shared/logger.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlData } from './helpers/gql.js';
import { tableOutage } from './helpers/database.js';
import { connected, subscribe, wsClient, type Subscription } from './helpers/ws.js';

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
    // Authenticating the socket now waits for the token table, and the database drops it.
    const outage = await tableOutage(db, 'auth_tokens');
    let ended = false;
    const endOutage = async (): Promise<void> => {
      if (ended) return;
      ended = true;
      await outage.end();
    };
    const closes: Array<{ code: number; reason: string }> = [];
    // graphql-ws retries 1013 (it would not retry 4500); quickly here.
    const client = wsClient(t.app.server.wsUrl, token, {
      lazy: false,
      retryAttempts: 100,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    client.on('closed', (event) => {
      closes.push(event as { code: number; reason: string });
      void endOutage();
    });
    const connection = connected(client, 30_000);
    try {
      // Away until the socket is closed: whatever else waits for the table meanwhile is dropped too.
      await outage.dropWaitingUntil(() => ended, 'the socket closed');
      await connection;
      expect(closes.length).toBeGreaterThan(0);
      for (const close of closes) expect(close).toMatchObject(DATABASE_UNAVAILABLE_CLOSE);
      // Connected as the operator it is: the socket's operations run.
      const viewer = subscribe<{ viewer: { role: string } }>(client, '{ viewer { role } }');
      expect((await viewer.next()).viewer.role).toBe('OPERATOR');
    } finally {
      await client.dispose();
      await endOutage();
    }
  });

  it('a subscription the database cannot serve answers SERVICE_UNAVAILABLE for its id, and resumes once sent again', async () => {
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    // Nobody in it: what is handed over to it waits in Help.
    const empty = await createGroup(t.admin);
    const { queueStats } = await t.admin.ok<{ queueStats: { sequence: number } }>('{ queueStats { sequence } }');
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN, { lazy: false });
    await connected(ws);
    const help = 'subscription Help($a: Int) { queueChanged(after: $a) { sequence dialog { id } } }';
    try {
      // Resuming reads the stream's sequence, which now waits for its table, and the database drops it.
      const outage = await tableOutage(db, 'event_topics');
      let refused: Subscription<GraphqlData>;
      try {
        refused = subscribe(ws, help, { a: queueStats.sequence }, 'Help');
        await outage.dropWaitingUntil(() => refused.errors.length > 0, 'an answer while event_topics is away');
      } finally {
        await outage.end();
      }
      expect(refused.errors.flat()).toEqual([
        expect.objectContaining({
          message: DATABASE_UNAVAILABLE_MESSAGE,
          extensions: { code: 'SERVICE_UNAVAILABLE', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
        }),
      ]);
      // Sent again from the same point: what was committed since arrives, in sequence.
      const dialog = await transfer(bot, (await startDialog(bot)).id, { groupId: empty.id });
      const again = subscribe<{ queueChanged: { sequence: number; dialog: { id: string } } }>(
        ws,
        help,
        { a: queueStats.sequence },
        'Help',
      );
      expect((await again.next(20_000)).queueChanged).toEqual({ sequence: queueStats.sequence + 1, dialog: { id: dialog.id } });
    } finally {
      await ws.dispose();
    }
  });

  it('a WebSocket whose authentication fails in its statement (not the database being away) is closed with 4500, not retried', async () => {
    const op = await createOperator(t.admin);
    const token = await login(t.client(), op.email, op.password);
    await db.query('alter table auth_tokens rename to auth_tokens_away');
    try {
      const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
      const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
        client.on('closed', (event) => resolve(event as { code: number; reason: string })),
      );
      await client.dispose();
      expect(closed).toMatchObject({ code: 4500, reason: 'Internal server error' });
    } finally {
      await db.query('alter table auth_tokens_away rename to auth_tokens');
    }
    // Positive control: the same token connects once its table is back.
    const client = wsClient(t.app.server.wsUrl, token, { lazy: false });
    try {
      await connected(client);
    } finally {
      await client.dispose();
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
