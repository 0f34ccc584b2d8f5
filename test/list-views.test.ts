import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { subscribe, wsClient } from './helpers/ws.js';

let t: TestApp;
let bot: GraphqlClient;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock('2026-05-01T08:00:00.000Z');
  t = await startTestApp({ clock });
  await t.quiet();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterAll(async () => {
  await assertInvariants(t.db.url);
  await t.stop();
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: t.db.url });
  await db.connect();
  try {
    return (await db.query(text, params)).rows as T[];
  } finally {
    await db.end();
  }
}

async function operatorSession(groupIds: string[]): Promise<{ id: string; client: GraphqlClient; token: string }> {
  const op = await createOperator(t.admin, { groupIds });
  const token = await login(t.client(), op.email, op.password);
  const client = t.client(token);
  await client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
  return { id: op.id, client, token };
}

async function post(dialogId: string, text: string, author: 'CLIENT' | 'BOT' = 'CLIENT'): Promise<string> {
  const data = await bot.ok(
    `mutation($id: ID!, $text: String!, $a: MessageAuthor) { postClientMessage(dialogId: $id, text: $text, author: $a) { id } }`,
    { id: dialogId, text, a: author },
  );
  return data.postClientMessage.id as string;
}

async function reply(client: GraphqlClient, dialogId: string, text: string): Promise<string> {
  const data = await client.ok(`mutation($id: ID!, $text: String!) { sendMessage(dialogId: $id, text: $text) { id } }`, {
    id: dialogId,
    text,
  });
  return data.sendMessage.id as string;
}

const LIST_FIELDS = `id messageCount unreadCount lastMessage { id text author } messages(last: 2) { id text }`;

async function listView(client: GraphqlClient, dialogId: string): Promise<Record<string, unknown>> {
  return (await client.ok(`query($id: ID!) { dialog(id: $id) { ${LIST_FIELDS} } }`, { id: dialogId })).dialog;
}

const MARK = `mutation($d: ID!, $m: ID) { markDialogRead(dialogId: $d, messageId: $m) { id unreadCount } }`;

describe('list fields and read markers', () => {
  it('lastMessage, messageCount, messages(last) and unreadCount follow the messages and each operator’s marker', async () => {
    const g = await createGroup(t.admin);
    const a = await operatorSession([g.id]);
    const b = await operatorSession([g.id]);
    await setStatus(t.admin, b.id, 'OFFLINE');
    const d = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id, groupId: g.id });
    expect(d.operator?.id).toBe(a.id);

    // A new dialog: nothing yet.
    expect(await listView(a.client, d.id)).toEqual({
      id: d.id,
      messageCount: 0,
      unreadCount: 0,
      lastMessage: null,
      messages: [],
    });

    const m1 = await post(d.id, 'hello');
    const bm = await post(d.id, 'the bot says', 'BOT');
    const m2 = await post(d.id, 'anyone?');
    const r1 = await reply(a.client, d.id, 'here');
    const m3 = await post(d.id, 'thanks');
    const view = await listView(a.client, d.id);
    expect(view).toMatchObject({
      messageCount: 5,
      // Client messages only: the bot's and the operator's own do not count.
      unreadCount: 3,
      lastMessage: { id: m3, text: 'thanks', author: 'CLIENT' },
      messages: [
        { id: r1, text: 'here' },
        { id: m3, text: 'thanks' },
      ],
    });
    // Without last, the whole history, oldest first.
    const all = await a.client.ok(`query($id: ID!) { dialog(id: $id) { messages { id } } }`, { id: d.id });
    expect(all.dialog.messages.map((m: { id: string }) => m.id)).toEqual([m1, bm, m2, r1, m3]);
    // Callers without an operator have no marker: 0.
    expect((await listView(t.admin, d.id)).unreadCount).toBe(0);

    expect((await a.client.ok(MARK, { d: d.id, m: m2 })).markDialogRead.unreadCount).toBe(1);
    // The marker never moves back.
    expect((await a.client.ok(MARK, { d: d.id, m: m1 })).markDialogRead.unreadCount).toBe(1);
    // Each operator has their own marker: b (a member of the dialog's group) has read nothing.
    expect((await listView(b.client, d.id)).unreadCount).toBe(3);
    // Default: the newest message.
    expect((await a.client.ok(MARK, { d: d.id })).markDialogRead.unreadCount).toBe(0);
    await post(d.id, 'one more');
    expect((await listView(a.client, d.id)).unreadCount).toBe(1);
    expect(await sql(`select count(*)::int as n from dialog_reads`)).toEqual([{ n: 1 }]);
  });

  it('markDialogRead: only an operator who may see the dialog, with one of its messages', async () => {
    const g = await createGroup(t.admin);
    const other = await createGroup(t.admin);
    const a = await operatorSession([g.id]);
    const outsider = await operatorSession([other.id]);
    const d = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
    const e = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
    const mine = await post(d.id, 'hello');
    const elsewhere = await post(e.id, 'elsewhere');

    await a.client.fails(MARK, { d: d.id, m: elsewhere }, 'NOT_FOUND', 'messageId');
    await a.client.fails(MARK, { d: d.id, m: 'not-an-id' }, 'NOT_FOUND', 'messageId');
    await a.client.fails(MARK, { d: '00000000-0000-4000-8000-000000000000', m: mine }, 'NOT_FOUND', 'dialogId');
    await outsider.client.fails(MARK, { d: d.id, m: mine }, 'FORBIDDEN');
    await t.admin.fails(MARK, { d: d.id, m: mine }, 'FORBIDDEN');
    expect(await sql(`select count(*)::int as n from dialog_reads where dialog_id = $1`, [d.id])).toEqual([{ n: 0 }]);
    expect((await a.client.ok(MARK, { d: d.id, m: mine })).markDialogRead.unreadCount).toBe(0);

    // A dialog without messages: nothing to mark, nothing changes.
    const empty = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
    expect((await a.client.ok(MARK, { d: empty.id })).markDialogRead.unreadCount).toBe(0);
    expect(await sql(`select count(*)::int as n from dialog_reads where dialog_id = $1`, [empty.id])).toEqual([{ n: 0 }]);
  });

  it('messages(last) refuses a negative or too large count', async () => {
    const d = await startDialog(bot);
    const Q = `query($id: ID!, $n: Int) { dialog(id: $id) { messages(last: $n) { id } } }`;
    await t.admin.fails(Q, { id: d.id, n: -1 }, 'BAD_USER_INPUT', 'last');
    await t.admin.fails(Q, { id: d.id, n: 201 }, 'BAD_USER_INPUT', 'last');
    expect((await t.admin.ok(Q, { id: d.id, n: 0 })).dialog.messages).toEqual([]);
  });
});

describe('myDialogs carries MESSAGE events', () => {
  it("delivers messages of the operator's own dialogs with the message, and none of others'", async () => {
    const g = await createGroup(t.admin);
    const a = await operatorSession([g.id]);
    const b = await operatorSession([g.id]);
    const mine = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
    const theirs = await transfer(bot, (await startDialog(bot)).id, { operatorId: b.id });
    const client = wsClient(t.app.server.wsUrl, a.token);
    try {
      // From the stream's start, so nothing depends on when the subscription begins: a's dialog
      // comes first, replayed.
      const events = subscribe(
        client,
        `subscription { myDialogs(after: 0) { type sequence dialog { id unreadCount lastMessage { id } } message { id text author } } }`,
      );
      expect((await events.next()).myDialogs).toMatchObject({ type: 'ASSIGNED', dialog: { id: mine.id } });

      const m1 = await post(mine.id, 'a question');
      const first = (await events.next()).myDialogs;
      expect(first).toMatchObject({
        type: 'MESSAGE',
        dialog: { id: mine.id, unreadCount: 1, lastMessage: { id: m1 } },
        message: { id: m1, text: 'a question', author: 'CLIENT' },
      });
      // Another operator's dialog: not on a's stream. Then a's own reply is (the positive control).
      await post(theirs.id, 'not for a');
      const r1 = await reply(a.client, mine.id, 'an answer');
      const second = (await events.next()).myDialogs;
      expect(second).toMatchObject({ type: 'MESSAGE', message: { id: r1, author: 'OPERATOR' } });
      expect(second.sequence).toBe(first.sequence + 1);
      events.dispose();
    } finally {
      await client.dispose();
    }
  });
});

interface Edge {
  cursor: string;
  node: { id: string };
}
interface Page {
  edges: Edge[];
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const PAGE = `query($f: DialogFilter, $first: Int, $after: String, $last: Int, $before: String, $o: DialogOrder) {
  dialogs(filter: $f, first: $first, after: $after, last: $last, before: $before, orderBy: $o) {
    totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

async function page(variables: Record<string, unknown>): Promise<Page> {
  return (await t.admin.ok(PAGE, variables)).dialogs as Page;
}

/** Walks every page forward with `first`, then backward with `last`; both must give `expected`. */
async function walkBothWays(filter: Record<string, unknown>, order: string, expected: string[], size: number): Promise<void> {
  const forward: string[] = [];
  let after: string | null = null;
  for (let n = 0; ; n++) {
    const p: Page = await page({ f: filter, o: order, first: size, after });
    expect(p.totalCount).toBe(expected.length);
    expect(p.pageInfo.hasPreviousPage).toBe(n > 0);
    expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
    expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
    forward.push(...p.edges.map((e) => e.node.id));
    expect(p.pageInfo.hasNextPage).toBe(forward.length < expected.length);
    if (!p.pageInfo.hasNextPage) break;
    after = p.pageInfo.endCursor;
  }
  expect(forward).toEqual(expected);

  const backward: string[] = [];
  let before: string | null = null;
  for (let n = 0; ; n++) {
    const p: Page = await page({ f: filter, o: order, last: size, before });
    expect(p.pageInfo.hasNextPage).toBe(n > 0);
    backward.unshift(...p.edges.map((e) => e.node.id));
    expect(p.pageInfo.hasPreviousPage).toBe(backward.length < expected.length);
    if (!p.pageInfo.hasPreviousPage) break;
    before = p.pageInfo.startCursor;
  }
  expect(backward).toEqual(expected);
}

describe('dialogs: paging both ways, orderings and filters', () => {
  /** Dialogs of one scenario, created a minute apart, oldest first. */
  const made: Array<{ id: string; createdAt: string }> = [];
  let scenarioId: string;
  let group: string;

  beforeAll(async () => {
    scenarioId = (await t.admin.ok(`mutation { createScenario(name: "paging") { id } }`)).createScenario.id;
    // Nobody in this group is online: what is transferred to it waits in the Help queue.
    group = (await createGroup(t.admin, { slFirstResponseSec: 600 })).id;
    for (let i = 0; i < 7; i++) {
      clock.advance(60_000);
      const { startDialog: d } = await bot.ok(`mutation($s: ID) { startDialog(input: { scenarioId: $s }) { id createdAt } }`, {
        s: scenarioId,
      });
      made.push(d);
    }
  });

  const f = (): Record<string, unknown> => ({ scenarioId });
  const ids = (list: Array<{ id: string }>): string[] => list.map((d) => d.id);

  it('CREATED_DESC (the default) and CREATED_ASC', async () => {
    const newest = ids([...made].reverse());
    for (const size of [1, 2, 3, 7, 10]) {
      await walkBothWays(f(), 'CREATED_DESC', newest, size);
      await walkBothWays(f(), 'CREATED_ASC', [...newest].reverse(), size);
    }
    expect(ids((await page({ f: f() })).edges.map((e) => e.node))).toEqual(newest);
  });

  it('LAST_MESSAGE_DESC: most recent message first, dialogs without messages last', async () => {
    const [d0, d1, d2, d3] = made;
    await post(d2.id, 'first');
    await post(d0.id, 'second');
    await post(d3.id, 'third');
    await post(d2.id, 'fourth');
    const silent = ids(made.filter((d) => ![d0, d2, d3].includes(d)))
      .sort()
      .reverse();
    const expected = [d2.id, d3.id, d0.id, ...silent];
    expect(silent).toContain(d1.id);
    for (const size of [1, 2, 4]) await walkBothWays(f(), 'LAST_MESSAGE_DESC', expected, size);
  });

  it('QUEUE_ORDER: the Help queue’s drain order, then dialogs that never queued', async () => {
    // Nobody online: a transfer to the group ends in the Help queue.
    for (const { id } of await sql<{ id: string }>(`select id from operators where status = 'ONLINE'`)) {
      await setStatus(t.admin, id, 'OFFLINE');
    }
    // Queued one by one with the clock moving: the later queued, the later its SL deadline.
    const queued = made.slice(4);
    for (const d of queued.slice().reverse()) {
      clock.advance(1000);
      expect((await transfer(bot, d.id, { groupId: group })).status).toBe('QUEUED');
    }
    const help = await t.admin.ok(`{ helpQueue { id } }`);
    const helpOrder = ids(help.helpQueue).filter((id) => queued.some((d) => d.id === id));
    expect(helpOrder).toEqual(ids(queued.slice().reverse()));
    const never = ids(made.slice(0, 4)).sort();
    for (const size of [1, 2, 3]) await walkBothWays(f(), 'QUEUE_ORDER', [...helpOrder, ...never], size);
    // Queued only: exactly the Help queue's order.
    await walkBothWays({ ...f(), status: ['QUEUED'] }, 'QUEUE_ORDER', helpOrder, 2);
  });

  it('createdFrom (inclusive) and createdTo (exclusive) filter by creation time', async () => {
    const window = { ...f(), createdFrom: made[2].createdAt, createdTo: made[5].createdAt };
    await walkBothWays(window, 'CREATED_ASC', ids(made.slice(2, 5)), 2);
    // A scenario id that names nothing (or is no id at all) matches nothing.
    expect((await page({ f: { scenarioId: 'nope' } })).totalCount).toBe(0);
  });

  it('a cursor belongs to its ordering; every invalid argument is reported at once', async () => {
    const p = await page({ f: f(), first: 2, o: 'CREATED_ASC' });
    const cursor = p.pageInfo.endCursor;
    await t.admin.fails(PAGE, { f: f(), first: 2, after: cursor, o: 'LAST_MESSAGE_DESC' }, 'BAD_USER_INPUT', 'after');
    await t.admin.fails(PAGE, { before: 'garbage' }, 'BAD_USER_INPUT', 'before');

    const error = await t.admin.fails(
      PAGE,
      { first: -1, last: 500, after: 'x', f: { createdFrom: '2026-05-02T00:00:00Z', createdTo: '2026-05-01T00:00:00Z' } },
      'BAD_USER_INPUT',
      'first',
    );
    expect(error.extensions?.['fields']).toEqual([
      { field: 'first', message: 'first must be an integer in 0..200' },
      { field: 'last', message: 'last must be an integer in 0..200' },
      { field: 'after', message: 'after is not a cursor this API returned for orderBy CREATED_DESC' },
      { field: 'last', message: 'give first or last, not both' },
      { field: 'createdTo', message: 'createdTo must be after createdFrom' },
    ]);
  });
});

describe('every invalid field at once', () => {
  it('a mutation names each invalid input field in extensions.fields, the first in extensions.field', async () => {
    const error = await t.admin.fails(
      `mutation { createGroup(input: { name: "  ", slFirstResponseSec: 0, slNextResponseSec: 5 }) { id } }`,
      undefined,
      'BAD_USER_INPUT',
      'name',
    );
    expect(error.extensions?.['fields']).toEqual([
      { field: 'name', message: 'name must not be empty' },
      { field: 'slFirstResponseSec', message: expect.stringContaining('slFirstResponseSec must be an integer') },
    ]);
    expect(error.message).toContain('name must not be empty; slFirstResponseSec');

    const op = await t.admin.fails(
      `mutation { createOperator(input: { firstName: "", lastName: "B", email: "not-an-email", maxDialogs: -1 }) { id } }`,
      undefined,
      'BAD_USER_INPUT',
      'firstName',
    );
    expect((op.extensions?.['fields'] as Array<{ field: string }>).map((i) => i.field)).toEqual([
      'firstName',
      'email',
      'maxDialogs',
    ]);
  });

  it('a single invalid field and a value GraphQL rejects carry fields too', async () => {
    const one = await t.admin.fails(
      `mutation { createGroup(input: { name: "ok", slFirstResponseSec: 0, slNextResponseSec: 5 }) { id } }`,
      undefined,
      'BAD_USER_INPUT',
      'slFirstResponseSec',
    );
    expect(one.extensions?.['fields']).toEqual([{ field: 'slFirstResponseSec', message: one.message }]);
    const coerced = await t.admin.fails(
      `query($n: Int) { dialogs(first: $n) { totalCount } }`,
      { n: 'many' },
      'BAD_USER_INPUT',
      'first',
    );
    expect(coerced.extensions?.['fields']).toEqual([{ field: 'first', message: coerced.message }]);
  });

  it('text the database cannot store: every such argument at once', async () => {
    const error = await bot.fails(
      `mutation($e: String, $c: String) { startDialog(input: { externalId: $e, clientName: $c }) { id } }`,
      { e: 'a\u0000b', c: 'c\u0000d' },
      'BAD_USER_INPUT',
      'externalId',
    );
    expect((error.extensions?.['fields'] as Array<{ field: string }>).map((i) => i.field)).toEqual(['externalId', 'clientName']);
  });
});
