import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { transactionRetries } from '../src/shared/transaction.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlClient, GraphqlResult } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { seededRandom as prng } from '../bench/lib/rng.js';

/**
 * One busy operator: 16 clients work the dialogs of a single operator at once (replies, client
 * messages, closes that drain the Help queue back to them, new dialogs routed to their group,
 * takes, transfers to and from a second operator whose status flips). Every transaction touches
 * the same operator row; none of them may deadlock.
 */
const CLIENTS = 16;
const OPERATIONS = 600;
const HOT_MAX = 50;

type Op = 'reply' | 'clientMessage' | 'close' | 'newDialog' | 'take' | 'handToSecond' | 'handBack' | 'flipSecond';
const MIX: ReadonlyArray<readonly [Op, number]> = [
  ['reply', 25],
  ['clientMessage', 14],
  ['close', 15],
  ['newDialog', 16],
  ['take', 8],
  ['handToSecond', 8],
  ['handBack', 10],
  ['flipSecond', 4],
];
/** What losing a race with another client may answer (the dialog moved, closed, or the queue emptied). */
const RACE_CODES = new Set(['FORBIDDEN', 'BAD_USER_INPUT', 'CONFLICT', 'NOT_FOUND']);

let db: TestDatabase;
let t: TestApp;
let sql: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
  t = await startTestApp({ db, config: { dbPoolSize: CLIENTS + 4 } });
  sql = new pg.Pool({ connectionString: db.url, max: 3 });
});

afterAll(async () => {
  if (sql && !sql.ended) await sql.end();
  await t?.stop();
  await db?.drop();
});

/** Deadlocks Postgres detected in this test's database, once every server connection has reported. */
async function deadlocks(): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ deadlocks: string }>(
      `select deadlocks from pg_stat_database where datname = current_database()`,
    );
    return Number(rows[0].deadlocks);
  } finally {
    await client.end();
  }
}

/** Waits until every other connection to the test database has closed (a backend reports its counters on exit). */
async function connectionsClosed(): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows } = await client.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
      );
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('server connections still open');
  } finally {
    await client.end();
  }
}

describe('a busy operator', () => {
  it('works 600 concurrent operations on one operator without a deadlock', { timeout: 300_000 }, async () => {
    const seed = Number(process.env['HOT_OPERATOR_SEED'] ?? 20261201);
    console.log(`hot-operator seed: ${seed} (HOT_OPERATOR_SEED to replay)`);
    const random = prng(seed);

    const group = await createGroup(t.admin);
    const hot = await createOperator(t.admin, { groupIds: [group.id], maxDialogs: HOT_MAX });
    const second = await createOperator(t.admin, { maxDialogs: 10 });
    const hotClient = t.client(await login(t.client(), hot.email, hot.password));
    const secondClient = t.client(await login(t.client(), second.email, second.password));
    await hotClient.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    await secondClient.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    // More dialogs than both operators hold: the rest wait in Help for closes to drain them.
    for (let i = 0; i < HOT_MAX + 25; i++) {
      const dialog = await startDialog(bot, { externalId: `seed-${i}` });
      await transfer(bot, dialog.id, { groupId: group.id });
    }

    const ids = async (where: string, params: unknown[]): Promise<string[]> =>
      (await sql.query<{ id: string }>(`select id from dialogs where ${where} order by id`, params)).rows.map((r) => r.id);
    const anyOf = (list: readonly string[]): string | undefined => list[Math.floor(random() * list.length)];
    let secondOnline = true;

    const run = async (op: Op): Promise<GraphqlResult | null> => {
      const mutate = (client: GraphqlClient, mutation: string, variables: Record<string, unknown>): Promise<GraphqlResult> =>
        client.request(mutation, variables);
      switch (op) {
        case 'reply': {
          const id = anyOf(await ids(`status = 'ASSIGNED' and operator_id = $1`, [hot.id]));
          return id ? mutate(hotClient, `mutation($id: ID!) { sendMessage(dialogId: $id, text: "on it") { id } }`, { id }) : null;
        }
        case 'clientMessage': {
          const id = anyOf(await ids(`status in ('ASSIGNED', 'QUEUED')`, []));
          return id
            ? mutate(bot, `mutation($id: ID!) { postClientMessage(dialogId: $id, text: "still there?") { id } }`, { id })
            : null;
        }
        case 'close': {
          const id = anyOf(await ids(`status = 'ASSIGNED' and operator_id = $1`, [hot.id]));
          return id ? mutate(hotClient, `mutation($id: ID!) { closeDialog(dialogId: $id) { id } }`, { id }) : null;
        }
        case 'newDialog': {
          const dialog = await startDialog(bot, {});
          return mutate(bot, `mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id } }`, {
            id: dialog.id,
            g: group.id,
          });
        }
        case 'take': {
          const id = anyOf(await ids(`status = 'QUEUED'`, []));
          return id ? mutate(hotClient, `mutation($id: ID!) { takeDialog(dialogId: $id) { id } }`, { id }) : null;
        }
        case 'handToSecond': {
          const id = anyOf(await ids(`status = 'ASSIGNED' and operator_id = $1`, [hot.id]));
          return id
            ? mutate(hotClient, `mutation($id: ID!, $o: ID!) { transferDialog(dialogId: $id, to: { operatorId: $o }) { id } }`, {
                id,
                o: second.id,
              })
            : null;
        }
        case 'handBack': {
          const id = anyOf(await ids(`status = 'ASSIGNED' and operator_id = $1`, [second.id]));
          return id
            ? mutate(
                secondClient,
                `mutation($id: ID!, $o: ID!) { transferDialog(dialogId: $id, to: { operatorId: $o }) { id } }`,
                {
                  id,
                  o: hot.id,
                },
              )
            : null;
        }
        case 'flipSecond': {
          secondOnline = !secondOnline;
          return mutate(
            t.admin,
            `mutation($id: ID!, $s: OperatorStatus!) { setOperatorStatus(operatorId: $id, status: $s) { id } }`,
            {
              id: second.id,
              s: secondOnline ? 'ONLINE' : 'OFFLINE',
            },
          );
        }
      }
    };

    const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
    const choose = (): Op => {
      let r = random() * total;
      for (const [op, weight] of MIX) if ((r -= weight) < 0) return op;
      return MIX[0][0];
    };

    const deadlocksBefore = await deadlocks();
    const retriesBefore = transactionRetries();
    const succeeded = new Map<Op, number>();
    const raced = new Map<string, number>();
    const failures: string[] = [];
    let started = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (started < OPERATIONS) {
          started++;
          const op = choose();
          const result = await run(op);
          if (result === null) continue;
          const error = result.errors?.[0];
          const code = error?.extensions?.code;
          if (!error) succeeded.set(op, (succeeded.get(op) ?? 0) + 1);
          else if (result.status < 500 && code !== undefined && RACE_CODES.has(code))
            raced.set(`${op} ${code}`, (raced.get(`${op} ${code}`) ?? 0) + 1);
          else failures.push(`${op}: ${result.status} ${code} ${error.message}`);
        }
      }),
    );
    const retries = transactionRetries() - retriesBefore;
    await sql.end();
    await t.app.stop();
    await connectionsClosed();
    const detected = (await deadlocks()) - deadlocksBefore;
    console.log('succeeded', Object.fromEntries(succeeded), 'lost a race', Object.fromEntries(raced), {
      retries,
      deadlocks: detected,
    });

    expect(failures, 'errors other than a lost race').toEqual([]);
    expect(detected, 'deadlocks detected by Postgres').toBe(0);
    expect(retries, 'transactions run again').toBe(0);
    // The load really happened: most operations went through, and every kind did. (Takes mostly
    // find the operator full, since each close refills them from the queue: a lost race.)
    const done = [...succeeded.values()].reduce((sum, n) => sum + n, 0);
    expect(done, 'operations that went through').toBeGreaterThan(OPERATIONS / 2);
    for (const op of ['reply', 'clientMessage', 'close', 'newDialog', 'handToSecond', 'handBack', 'flipSecond'] as const) {
      expect(succeeded.get(op) ?? 0, op).toBeGreaterThan(0);
    }
    await assertInvariants(db.url);
  });
});
