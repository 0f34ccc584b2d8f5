import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';

/** Two databases of different sizes; the same queries must cost the same number of statements. */
let small: TestApp;
let large: TestApp;

async function seed(t: TestApp, groups: number, perGroup: number): Promise<void> {
  const created = [];
  for (let i = 0; i < groups; i++) created.push(await createGroup(t.admin));
  // Each operator belongs to its own group and the next one.
  const work: Array<Promise<unknown>> = [];
  for (let i = 0; i < groups; i++) {
    for (let j = 0; j < perGroup / 2; j++) {
      work.push(createOperator(t.admin, { groupIds: [created[i].id, created[(i + 1) % groups].id] }));
    }
  }
  for (let i = 0; i < work.length; i += 25) await Promise.all(work.slice(i, i + 25));
}

/**
 * `count` dialogs waiting in Help (every operator sees them), each with three messages, and the
 * operator's read marker in every other one; returns the operator's session.
 */
async function seedDialogs(t: TestApp, count: number): Promise<GraphqlClient> {
  const op = await createOperator(t.admin);
  const db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
  try {
    await db.query(
      `insert into dialogs (id, status, created_at, handed_over_at, queued_at)
       select gen_random_uuid(), 'QUEUED', now() - (i || ' seconds')::interval, now(), now() from generate_series(1, $1) i`,
      [count],
    );
    await db.query(
      `insert into messages (id, dialog_id, author, text, created_at)
       select gen_random_uuid(), d.id, a.author, 'hello', now() from dialogs d, unnest(array['CLIENT', 'BOT', 'CLIENT']) a(author)`,
    );
    await db.query(`update dialogs d set last_message_seq = (select max(seq) from messages m where m.dialog_id = d.id)`);
    await db.query(
      `insert into dialog_reads (operator_id, dialog_id, last_read_seq, read_at)
       select $1, d.id, (select min(seq) from messages m where m.dialog_id = d.id), now()
         from (select id, row_number() over (order by id) as n from dialogs) d where d.n % 2 = 0`,
      [op.id],
    );
  } finally {
    await db.end();
  }
  return t.client(await login(t.client(), op.email, op.password));
}

let smallOperator: GraphqlClient;
let largeOperator: GraphqlClient;

beforeAll(async () => {
  [small, large] = await Promise.all([startTestApp(), startTestApp()]);
  await Promise.all([seed(small, 5, 4), seed(large, 50, 20), small.quiet(), large.quiet()]);
  [smallOperator, largeOperator] = await Promise.all([seedDialogs(small, 5), seedDialogs(large, 100)]);
}, 120_000);
afterAll(async () => {
  await Promise.all([small.stop(), large.stop()]);
});

async function statements(t: TestApp, query: string): Promise<number> {
  await t.settled();
  t.resetQueryCount();
  await t.admin.ok(query);
  return t.queryCount();
}

describe('no N+1 queries', () => {
  it.each([
    [
      'groups { operators { groups } }',
      `{ groups { id operators { id firstName email activeDialogCount groups { id name } } } }`,
    ],
    ['operators { groups { operators } }', `{ operators { id groups { id operators { id lastName } } } }`],
    ['users { operator { groups } }', `{ users { id operator { id groups { id } } } }`],
  ])('%s runs a constant number of SQL statements', async (_name, query) => {
    const few = await statements(small, query);
    const many = await statements(large, query);
    const { groups } = await large.admin.ok(`{ groups { operators { id } } }`);
    expect(groups).toHaveLength(50);
    expect(groups.every((g: { operators: unknown[] }) => g.operators.length === 20)).toBe(true);
    console.log(`${_name}: ${many} statements for 50 groups × 20 operators, ${few} for 5 × 4`);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(6);
  });
});

describe('a dashboard list of dialogs', () => {
  const LIST = `{ dialogs(first: 100) { edges { node {
    id messageCount unreadCount lastMessage { id text author operator { id } } messages(last: 2) { id author }
  } } } }`;

  it('lastMessage, messageCount, unreadCount and messages(last) cost the same statements for 5 dialogs as for 100', async () => {
    const count = async (t: TestApp, client: GraphqlClient): Promise<number> => {
      await t.settled();
      t.resetQueryCount();
      await client.ok(LIST);
      return t.queryCount();
    };
    const few = await count(small, smallOperator);
    const many = await count(large, largeOperator);
    const { dialogs } = await largeOperator.ok(LIST);
    expect(dialogs.edges).toHaveLength(100);
    // Three messages each (two from the client); the marker after the first in every other dialog.
    const nodes = dialogs.edges.map((e: { node: Record<string, unknown> }) => e.node);
    expect(nodes.every((n: { messageCount: number }) => n.messageCount === 3)).toBe(true);
    expect(nodes.map((n: { unreadCount: number }) => n.unreadCount).sort()).toEqual([...Array(50).fill(1), ...Array(50).fill(2)]);
    expect(nodes.every((n: { messages: unknown[] }) => n.messages.length === 2)).toBe(true);
    console.log(`dialogs list: ${many} statements for 100 dialogs, ${few} for 5`);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(8);
  });
});
