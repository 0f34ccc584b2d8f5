import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, getDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import type { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';

let t: TestApp;
let bot: GraphqlClient;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock('2026-05-01T08:00:00.000Z');
  t = await startTestApp({ clock });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(async () => {
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

async function operatorSession(groupIds: string[] = [], maxDialogs?: number): Promise<{ id: string; client: GraphqlClient }> {
  const op = await createOperator(t.admin, { groupIds, maxDialogs });
  const client = t.client(await login(t.client(), op.email, op.password));
  await client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
  return { id: op.id, client };
}

describe('idempotency keys', () => {
  it('a retried call returns the first result and routes nothing twice', async () => {
    const g = await createGroup(t.admin);
    await operatorSession([g.id]);
    const START = `mutation($k: String) { startDialog(input: { externalId: "c-1" }, idempotencyKey: $k) { id } }`;
    const [a, b] = await Promise.all([bot.ok(START, { k: 'start-1' }), bot.ok(START, { k: 'start-1' })]);
    expect(a.startDialog.id).toBe(b.startDialog.id);
    const id = a.startDialog.id;

    const POST = `mutation($id: ID!, $k: String) { postClientMessage(dialogId: $id, text: "hi", idempotencyKey: $k) { id } }`;
    const m1 = await bot.ok(POST, { id, k: 'msg-1' });
    const m2 = await bot.ok(POST, { id, k: 'msg-1' });
    expect(m1.postClientMessage.id).toBe(m2.postClientMessage.id);

    const TRANSFER = `mutation($id: ID!, $g: ID!, $k: String) { transferDialog(dialogId: $id, to: { groupId: $g }, idempotencyKey: $k) { id status } }`;
    await Promise.all([1, 2, 3].map(() => bot.ok(TRANSFER, { id, g: g.id, k: 'tr-1' })));
    const CLOSE = `mutation($id: ID!, $k: String) { closeDialog(dialogId: $id, idempotencyKey: $k) { id status } }`;
    await bot.ok(CLOSE, { id, k: 'close-1' });
    expect((await bot.ok(CLOSE, { id, k: 'close-1' })).closeDialog.status).toBe('CLOSED');

    expect(await sql(`select count(*)::int as n from dialogs`)).toEqual([{ n: 1 }]);
    expect(await sql(`select count(*)::int as n from messages`)).toEqual([{ n: 1 }]);
    expect(await sql(`select count(*)::int as n from dialog_transfers`)).toEqual([{ n: 1 }]);

    const other = await startDialog(bot);
    const FAIL = `mutation($id: ID!, $k: String) { reportBotFailure(dialogId: $id, idempotencyKey: $k) { id status } }`;
    await bot.ok(FAIL, { id: other.id, k: 'fail-1' });
    expect((await bot.ok(FAIL, { id: other.id, k: 'fail-1' })).reportBotFailure.id).toBe(other.id);
    await bot.fails(CLOSE, { id: other.id, k: 'fail-1' }, 'BAD_USER_INPUT', 'idempotencyKey');
    // A key is bound to its call's arguments too: reused for another dialog or text, it is refused.
    const third = await startDialog(bot);
    await bot.fails(FAIL, { id: third.id, k: 'fail-1' }, 'BAD_USER_INPUT', 'idempotencyKey');
    await bot.fails(TRANSFER, { id: third.id, g: g.id, k: 'tr-1' }, 'BAD_USER_INPUT', 'idempotencyKey');
    await bot.fails(POST, { id: other.id, k: 'msg-1' }, 'BAD_USER_INPUT', 'idempotencyKey');
    await bot.fails(
      `mutation { startDialog(input: { externalId: "c-2" }, idempotencyKey: "start-1") { id } }`,
      undefined,
      'BAD_USER_INPUT',
      'idempotencyKey',
    );
    expect((await getDialog(t.admin, third.id)).status).toBe('BOT');
    await bot.fails(START, { k: '' }, 'BAD_USER_INPUT', 'idempotencyKey');
    // Keys belong to the token that used them.
    const otherBot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const fresh = await otherBot.ok(START, { k: 'start-1' });
    expect(fresh.startDialog.id).not.toBe(id);
  });
});

describe('operator permissions', () => {
  it('operators work only their own dialogs; integrations cannot reply or take', async () => {
    const g = await createGroup(t.admin);
    const a = await operatorSession([g.id], 1);
    const b = await operatorSession([g.id], 1);
    const d = await transfer(bot, (await startDialog(bot)).id, { operatorId: a.id });
    const SEND = `mutation($id: ID!, $t: String!) { sendMessage(dialogId: $id, text: $t) { id author text operator { id } } }`;
    const CLOSE = `mutation($id: ID!) { closeDialog(dialogId: $id) { status } }`;
    const TRANSFER = `mutation($id: ID!, $o: ID) { transferDialog(dialogId: $id, to: { operatorId: $o }) { status operator { id } } }`;
    await b.client.fails(SEND, { id: d.id, t: 'mine now' }, 'FORBIDDEN');
    await b.client.fails(CLOSE, { id: d.id }, 'FORBIDDEN');
    await b.client.fails(TRANSFER, { id: d.id, o: b.id }, 'FORBIDDEN');
    await bot.fails(SEND, { id: d.id, t: 'bot pretending' }, 'FORBIDDEN');
    await bot.fails(`mutation($id: ID!) { takeDialog(dialogId: $id) { id } }`, { id: d.id }, 'FORBIDDEN');
    const { sendMessage } = await a.client.ok(SEND, { id: d.id, t: 'Hello' });
    expect(sendMessage).toMatchObject({ author: 'OPERATOR', text: 'Hello', operator: { id: a.id } });
    // Handing on to oneself is refused by routing: it goes to a colleague instead.
    const handed = await a.client.ok(TRANSFER, { id: d.id, o: a.id });
    expect(handed.transferDialog).toEqual({ status: 'ASSIGNED', operator: { id: b.id } });
    await a.client.fails(SEND, { id: d.id, t: 'still here?' }, 'FORBIDDEN');
    expect((await b.client.ok(CLOSE, { id: d.id })).closeDialog.status).toBe('CLOSED');
    const supervisor = t.client(await apiToken(t.admin, 'SUPERVISOR'));
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await supervisor.ok(SEND, { id: d2.id, t: 'Supervisor here' })).sendMessage.author).toBe('OPERATOR');
    expect((await supervisor.ok(CLOSE, { id: d2.id })).closeDialog.status).toBe('CLOSED');
  });

  it('a staff reply is not credited to the assigned operator, and is refused while the bot has the dialog', async () => {
    const g = await createGroup(t.admin);
    const a = await operatorSession([g.id]);
    const from = clock.now().toISOString();
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d.operator!.id).toBe(a.id);
    const SEND = `mutation($id: ID!) { sendMessage(dialogId: $id, text: "Supervisor here") { author operator { id } } }`;
    for (const role of ['SUPERVISOR', 'ADMIN']) {
      const staff = role === 'ADMIN' ? t.admin : t.client(await apiToken(t.admin, role));
      expect((await staff.ok(SEND, { id: d.id })).sendMessage).toEqual({ author: 'OPERATOR', operator: null });
    }
    expect(await sql(`select count(*)::int as n from messages where operator_id is not null`)).toEqual([{ n: 0 }]);
    clock.advance(1000);
    const REPORT = `query($o: ID, $from: DateTime!, $to: DateTime!) {
      slReport(operatorId: $o, from: $from, to: $to) { sessions firstResponsesWithinSl avgFirstResponseSec } }`;
    const to = clock.now().toISOString();
    // Staff replies do not answer the SL clock: it still runs, on the assigned operator.
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ kind: 'FIRST_RESPONSE' });
    expect((await t.admin.ok(REPORT, { o: a.id, from, to })).slReport).toEqual({
      sessions: 1,
      firstResponsesWithinSl: 0,
      avgFirstResponseSec: null,
    });
    expect((await t.admin.ok(REPORT, { from, to })).slReport).toMatchObject({ sessions: 1, firstResponsesWithinSl: 0 });

    const withBot = await startDialog(bot);
    const early = await t.admin.fails(SEND, { id: withBot.id }, 'CONFLICT', 'dialogId');
    expect(early.extensions?.reason).toBe('NOT_WITH_BOT');
    expect((await getDialog(t.admin, withBot.id)).firstResponseAt).toBeNull();
    expect(await sql(`select count(*)::int as n from messages where dialog_id = $1`, [withBot.id])).toEqual([{ n: 0 }]);
  });
});

describe('bad input changes nothing', () => {
  it('answers NOT_FOUND and BAD_USER_INPUT with the field, CONFLICT with a reason once the dialog closed', async () => {
    const g = await createGroup(t.admin);
    const d = await startDialog(bot);
    const unknown = '00000000-0000-4000-8000-000000000000';
    const TRANSFER = `mutation($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id } }`;
    await bot.fails(TRANSFER, { id: unknown, to: { groupId: g.id } }, 'NOT_FOUND', 'dialogId');
    await bot.fails(TRANSFER, { id: d.id, to: { groupId: unknown } }, 'NOT_FOUND', 'to.groupId');
    await bot.fails(TRANSFER, { id: d.id, to: { operatorId: unknown } }, 'NOT_FOUND', 'to.operatorId');
    await bot.fails(TRANSFER, { id: d.id, to: {} }, 'BAD_USER_INPUT', 'to');
    await bot.fails(`mutation { startDialog(input: { scenarioId: "${unknown}" }) { id } }`, undefined, 'NOT_FOUND', 'scenarioId');
    const POST = `mutation($id: ID!, $t: String!) { postClientMessage(dialogId: $id, text: $t) { id } }`;
    await bot.fails(POST, { id: d.id, t: '   ' }, 'BAD_USER_INPUT', 'text');
    await bot.fails(POST, { id: d.id, t: 'x'.repeat(10_001) }, 'BAD_USER_INPUT', 'text');
    await bot.ok(POST, { id: d.id, t: 'x'.repeat(10_000) });
    await closeDialog(bot, d.id);
    const late = await bot.fails(POST, { id: d.id, t: 'late' }, 'CONFLICT', 'dialogId');
    expect(late.extensions?.reason).toBe('DIALOG_CLOSED');
    const moved = await bot.fails(TRANSFER, { id: d.id, to: { groupId: g.id } }, 'CONFLICT', 'dialogId');
    expect(moved.extensions?.reason).toBe('DIALOG_CLOSED');
    expect(await sql(`select status from dialogs where id = $1`, [d.id])).toEqual([{ status: 'CLOSED' }]);
    expect(await sql(`select count(*)::int as n from dialog_transfers`)).toEqual([{ n: 0 }]);
    expect(await sql(`select count(*)::int as n from messages`)).toEqual([{ n: 1 }]);
  });
});

describe('dialog queries', () => {
  it('pages newest first with opaque, stable cursors and filters', async () => {
    const g = await createGroup(t.admin);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      clock.advance(1000);
      ids.push((await startDialog(bot)).id);
    }
    await transfer(bot, ids[1], { groupId: g.id });
    await transfer(bot, ids[4], { groupId: g.id });
    const PAGE = `query($f: DialogFilter, $n: Int, $after: String) { dialogs(filter: $f, first: $n, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }`;
    const seen: string[] = [];
    const totals: number[] = [];
    let after: string | null = null;
    for (;;) {
      const {
        dialogs,
      }: {
        dialogs: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string };
          edges: Array<{ node: { id: string } }>;
        };
      } = await t.admin.ok(PAGE, { n: 3, after });
      totals.push(dialogs.totalCount);
      seen.push(...dialogs.edges.map((e) => e.node.id));
      if (!dialogs.pageInfo.hasNextPage) break;
      after = dialogs.pageInfo.endCursor;
      // A dialog started meanwhile does not shift later pages.
      if (seen.length === 3) await startDialog(bot);
    }
    expect(seen).toEqual([...ids].reverse());
    expect(totals).toEqual([7, 8, 8]);
    const queued = (await t.admin.ok(PAGE, { f: { status: ['QUEUED'], groupId: g.id } })).dialogs;
    expect(queued.totalCount).toBe(2);
    expect(queued.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[4], ids[1]]);
    expect((await t.admin.ok(PAGE, { f: { status: ['BOT', 'CLOSED'] } })).dialogs.totalCount).toBe(6);
    await t.admin.fails(PAGE, { n: 500 }, 'BAD_USER_INPUT', 'first');
    await t.admin.fails(PAGE, { n: -1 }, 'BAD_USER_INPUT', 'first');
    await t.admin.fails(PAGE, { after: 'garbage' }, 'BAD_USER_INPUT', 'after');
  });

  it('operators see dialogs assigned to them, queued in Help, or in their groups', async () => {
    const mine = await createGroup(t.admin);
    const theirs = await createGroup(t.admin);
    const me = await operatorSession([mine.id], 2);
    const other = await operatorSession([theirs.id], 2);
    const ONE = `query($id: ID!) { dialog(id: $id) { id } }`;
    // Handled by me in another group and closed: no longer assigned to me, so not visible.
    const closedMine = await transfer(bot, (await startDialog(bot)).id, { operatorId: me.id, groupId: theirs.id });
    expect(closedMine.operator!.id).toBe(me.id);
    await closeDialog(bot, closedMine.id);
    const assigned = await transfer(bot, (await startDialog(bot)).id, { operatorId: me.id });
    const alsoMine = await transfer(bot, (await startDialog(bot)).id, { operatorId: me.id, groupId: theirs.id });
    const inMyGroup = await transfer(bot, (await startDialog(bot)).id, { groupId: mine.id }); // me full → other
    expect(inMyGroup.operator!.id).toBe(other.id);
    const elsewhere = await transfer(bot, (await startDialog(bot)).id, { groupId: theirs.id });
    expect(elsewhere.operator!.id).toBe(other.id);
    // Everyone is full: it waits in Help, aimed at a group that is not mine.
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: theirs.id });
    expect(queued.status).toBe('QUEUED');
    const withBot = await startDialog(bot);

    const { dialogs } = await me.client.ok(`{ dialogs(first: 50) { totalCount edges { node { id } } } }`);
    const visible: string[] = dialogs.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(visible.sort()).toEqual([assigned.id, alsoMine.id, inMyGroup.id, queued.id].sort());
    expect(visible).not.toContain(elsewhere.id);
    expect(visible).not.toContain(closedMine.id);
    expect(visible).not.toContain(withBot.id);
    expect(dialogs.totalCount).toBe(4);
    expect((await getDialog(t.admin, queued.id)).status).toBe('QUEUED'); // still queued when read
    for (const hidden of [elsewhere, closedMine, withBot]) expect((await me.client.ok(ONE, { id: hidden.id })).dialog).toBeNull();
    for (const shown of [assigned, queued, inMyGroup])
      expect((await me.client.ok(ONE, { id: shown.id })).dialog).toEqual({ id: shown.id });
  });

  it('a closed dialog keeps the operator who held it; the operatorId filter finds both open and closed ones', async () => {
    const g = await createGroup(t.admin);
    const empty = await createGroup(t.admin);
    const a = await operatorSession([g.id], 2);
    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(1000); // newest first: d2, then d1
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const closed = await closeDialog(a.client, d1.id);
    expect(closed).toMatchObject({ status: 'CLOSED', operator: { id: a.id } });
    expect((await getDialog(t.admin, d1.id)).operator).toEqual({ id: a.id });
    const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { activeDialogCount } }`, { id: a.id });
    expect(operator.activeDialogCount).toBe(1);

    const IDS = `query($f: DialogFilter) { dialogs(filter: $f) { totalCount edges { node { id status } } } }`;
    const ids = async (f: Record<string, unknown>): Promise<string[]> =>
      (await t.admin.ok(IDS, { f })).dialogs.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(await ids({ operatorId: a.id })).toEqual([d2.id, d1.id]);
    expect(await ids({ operatorId: a.id, status: ['ASSIGNED'] })).toEqual([d2.id]);
    expect(await ids({ operatorId: a.id, status: ['CLOSED'] })).toEqual([d1.id]);

    // Closed from the Help queue: nobody held it.
    await setStatus(t.admin, a.id, 'OFFLINE');
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: empty.id });
    expect(queued.status).toBe('QUEUED');
    expect((await closeDialog(bot, queued.id)).operator).toBeNull();
    expect((await closeDialog(bot, d2.id)).operator).toBeNull(); // re-routed to Help when a went offline
  });

  it('queueStats: queued, longest wait, online operators and free capacity', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 3 });
    await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 3 });
    const q1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(30_000);
    await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(12_000);
    const STATS = `query($g: ID) { queueStats(groupId: $g) { groupId queued longestWaitSec onlineOperators freeCapacity } }`;
    expect((await t.admin.ok(STATS, { g: g.id })).queueStats).toEqual({
      groupId: g.id,
      queued: 2,
      longestWaitSec: 42,
      onlineOperators: 0,
      freeCapacity: 0,
    });
    await setStatus(t.admin, a.id, 'ONLINE');
    expect((await t.admin.ok(STATS, { g: g.id })).queueStats).toEqual({
      groupId: g.id,
      queued: 0,
      longestWaitSec: 0,
      onlineOperators: 1,
      freeCapacity: 1,
    });
    expect((await t.admin.ok(STATS, {})).queueStats).toMatchObject({ groupId: null, queued: 0, onlineOperators: 1 });
    expect((await getDialog(t.admin, q1.id)).operator!.id).toBe(a.id);
    await t.admin.fails(STATS, { g: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', 'groupId');
    await t.admin.fails(STATS, { g: 'not-an-id' }, 'BAD_USER_INPUT', 'groupId');
  });

  it('reads 100 dialogs with nested relations in a constant number of statements', async () => {
    const g = await createGroup(t.admin);
    const ops = [await operatorSession([g.id], 1000), await operatorSession([g.id], 1000)];
    const QUERY = `{ dialogs(first: 100) { edges { node { id operator { groups { id } } group { operators { id } }
      messages { id operator { id } } transfers { id toOperator { id } requestedGroup { id } } scenario { id } } } } }`;
    await t.quiet();
    async function countFor(n: number): Promise<number> {
      while ((await t.admin.ok(`{ dialogs { totalCount } }`)).dialogs.totalCount < n) {
        const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
        await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hi") { id } }`, { id: d.id });
        const holder = ops.find((o) => o.id === d.operator!.id)!;
        await holder.client.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "hello") { id } }`, { id: d.id });
      }
      await t.settled();
      t.resetQueryCount();
      const { dialogs } = await t.admin.ok(QUERY);
      expect(dialogs.edges).toHaveLength(n);
      return t.queryCount();
    }
    const ten = await countFor(10);
    const hundred = await countFor(100);
    console.log(`dialogs(first: 100) with nested relations: ${hundred} statements (10 dialogs: ${ten})`);
    expect(hundred).toBe(ten);
    expect(hundred).toBeLessThanOrEqual(12);
  }, 120_000);
});
