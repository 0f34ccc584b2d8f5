import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { inTransaction } from '../src/shared/transaction.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { lockAwaited, withConnections } from './helpers/database.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, getDialog, lastTransfer, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
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

const tick = (): void => clock.advance(1000);
async function online(groupIds: string[], maxDialogs?: number): Promise<string> {
  const op = await createOperator(t.admin, { groupIds, maxDialogs });
  await setStatus(t.admin, op.id, 'ONLINE');
  return op.id;
}
async function newDialog(to: { groupId?: string; operatorId?: string }): ReturnType<typeof transfer> {
  tick();
  return transfer(bot, (await startDialog(bot)).id, to);
}
async function load(id: string): Promise<number> {
  const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { activeDialogCount } }`, { id });
  return operator.activeDialogCount;
}

describe('to a group', () => {
  it('skips offline and full members', async () => {
    const g = await createGroup(t.admin);
    const full = await online([g.id], 1);
    await newDialog({ operatorId: full });
    const off = await createOperator(t.admin, { groupIds: [g.id] });
    const free = await online([g.id]);
    const d = await newDialog({ groupId: g.id });
    expect(d.operator!.id).toBe(free);
    expect(await load(off.id)).toBe(0);
  });

  it('reports why the group could not take it', async () => {
    const empty = await createGroup(t.admin);
    const sleepy = await createGroup(t.admin);
    const busy = await createGroup(t.admin);
    await createOperator(t.admin, { groupIds: [sleepy.id] });
    const fullOp = await online([busy.id], 1);
    await newDialog({ operatorId: fullOp });
    const anyone = await online([]);
    for (const [group, reason] of [
      [empty, 'GROUP_EMPTY'],
      [sleepy, 'GROUP_NO_ONLINE_MEMBERS'],
      [busy, 'GROUP_AT_CAPACITY'],
    ] as const) {
      const d = await newDialog({ groupId: group.id });
      expect(d.operator!.id).toBe(anyone);
      expect(d.group!.id).toBe(group.id);
      expect(await lastTransfer(t.admin, d.id)).toMatchObject({
        outcome: 'ASSIGNED_TO_ANY',
        reasons: [reason],
        note: null,
        kind: 'TRANSFER',
      });
    }
  });
});

describe('to an operator', () => {
  it('assigns to that operator when online and below maximum, else group, else any, else Help', async () => {
    const g = await createGroup(t.admin);
    const target = await online([], 1);
    const member = await online([g.id], 1);
    const d1 = await newDialog({ operatorId: target, groupId: g.id });
    expect(d1.operator!.id).toBe(target);
    expect((await lastTransfer(t.admin, d1.id)).outcome).toBe('ASSIGNED_TO_TARGET');

    const d2 = await newDialog({ operatorId: target, groupId: g.id });
    expect(d2.operator!.id).toBe(member);
    expect(await lastTransfer(t.admin, d2.id)).toMatchObject({
      outcome: 'ASSIGNED_TO_TARGET',
      reasons: ['OPERATOR_AT_CAPACITY'],
    });

    const spare = await online([], 1);
    const d3 = await newDialog({ operatorId: target, groupId: g.id });
    expect(d3.operator!.id).toBe(spare);
    expect(await lastTransfer(t.admin, d3.id)).toMatchObject({
      outcome: 'ASSIGNED_TO_ANY',
      reasons: ['OPERATOR_AT_CAPACITY', 'GROUP_AT_CAPACITY'],
    });

    const offline = await createOperator(t.admin);
    const d4 = await newDialog({ operatorId: offline.id, groupId: g.id });
    expect(d4).toMatchObject({ status: 'QUEUED', operator: null, group: { id: g.id } });
    expect(await lastTransfer(t.admin, d4.id)).toMatchObject({
      outcome: 'QUEUED',
      reasons: ['OPERATOR_OFFLINE', 'GROUP_AT_CAPACITY', 'NO_OPERATOR_AVAILABLE'],
      toOperator: null,
    });
  });
});

describe('bot failure', () => {
  it("goes to the scenario's fallback group, else straight to any available operator; only from BOT", async () => {
    const g = await createGroup(t.admin);
    const member = await online([g.id]);
    const other = await online([]);
    const { createScenario } = await t.admin.ok(`mutation($g: ID) { createScenario(name: "faq", fallbackGroupId: $g) { id } }`, {
      g: g.id,
    });
    const { createScenario: bare } = await t.admin.ok(`mutation { createScenario(name: "bare") { id } }`);
    const FAIL = `mutation($id: ID!) { reportBotFailure(dialogId: $id, reason: "stuck") { status operator { id } group { id } } }`;

    const withFallback = await startDialog(bot, { scenarioId: createScenario.id });
    const r1 = (await bot.ok(FAIL, { id: withFallback.id })).reportBotFailure;
    expect(r1).toEqual({ status: 'ASSIGNED', operator: { id: member }, group: { id: g.id } });
    expect(await lastTransfer(t.admin, withFallback.id)).toMatchObject({
      kind: 'BOT_FAILURE',
      outcome: 'ASSIGNED_TO_TARGET',
      reasons: [],
      note: 'stuck',
    });

    const without = await startDialog(bot, { scenarioId: bare.id });
    const r2 = (await bot.ok(FAIL, { id: without.id })).reportBotFailure;
    expect(r2.status).toBe('ASSIGNED');
    expect(r2.operator.id).toBe(other);
    expect(await lastTransfer(t.admin, without.id)).toMatchObject({
      kind: 'BOT_FAILURE',
      outcome: 'ASSIGNED_TO_ANY',
      reasons: ['NO_TARGET'],
      note: 'stuck',
    });

    const handedOver = await bot.fails(FAIL, { id: without.id }, 'CONFLICT', 'dialogId');
    expect(handedOver.extensions?.reason).toBe('NOT_WITH_BOT');
  });

  it('keeps the free text apart from the reasons: commas and "note:" in it change nothing', async () => {
    const text = 'parser crashed, then: note:retry,GROUP_EMPTY';
    const d = await startDialog(bot);
    const { reportBotFailure } = await bot.ok(
      `mutation($id: ID!, $r: String) { reportBotFailure(dialogId: $id, reason: $r) { status transfers { kind outcome reasons note } } }`,
      { id: d.id, r: text },
    );
    // Nobody online: queued, with every reason of the chain in order and the text whole.
    expect(reportBotFailure).toEqual({
      status: 'QUEUED',
      transfers: [{ kind: 'BOT_FAILURE', outcome: 'QUEUED', reasons: ['NO_TARGET', 'NO_OPERATOR_AVAILABLE'], note: text }],
    });
    // A drain records its own decision: no reasons, no text.
    const op = await online([]);
    expect(await lastTransfer(t.admin, d.id)).toMatchObject({ kind: 'DRAIN', toOperator: { id: op }, reasons: [], note: null });
  });
});

describe('draining the Help queue', () => {
  it('assigns queued dialogs when capacity frees: own groups first, then most urgent first', async () => {
    const slow = await createGroup(t.admin, { slFirstResponseSec: 600 });
    const fast = await createGroup(t.admin, { slFirstResponseSec: 30 });
    const mine = await createGroup(t.admin, { slFirstResponseSec: 900 });
    const qSlow = await newDialog({ groupId: slow.id }); // queued first, deadline +600 s
    const qFast = await newDialog({ groupId: fast.id }); // queued later, deadline +30 s: more urgent
    const qMine = await newDialog({ groupId: mine.id }); // least urgent, but aimed at the operator's group
    for (const d of [qSlow, qFast, qMine]) expect(d.status).toBe('QUEUED');
    const { helpQueue } = await t.admin.ok(`{ helpQueue { id } }`);
    expect(helpQueue.map((d: { id: string }) => d.id)).toEqual([qFast.id, qSlow.id, qMine.id]);

    const op = await createOperator(t.admin, { groupIds: [mine.id], maxDialogs: 2 });
    await setStatus(t.admin, op.id, 'ONLINE');
    expect((await getDialog(t.admin, qMine.id)).operator?.id).toBe(op.id);
    expect((await getDialog(t.admin, qFast.id)).operator?.id).toBe(op.id);
    expect((await getDialog(t.admin, qSlow.id)).status).toBe('QUEUED');
    expect(await lastTransfer(t.admin, qMine.id)).toMatchObject({ kind: 'DRAIN', outcome: 'ASSIGNED_TO_TARGET' });
    expect(await lastTransfer(t.admin, qFast.id)).toMatchObject({ kind: 'DRAIN', outcome: 'ASSIGNED_TO_ANY' });

    // Raising the maximum frees capacity too.
    await t.admin.ok(`mutation($id: ID!) { updateOperator(id: $id, input: { maxDialogs: 3 }) { id } }`, { id: op.id });
    expect((await getDialog(t.admin, qSlow.id)).operator?.id).toBe(op.id);
    await t.admin.fails(
      `mutation($id: ID!) { updateOperator(id: $id, input: { maxDialogs: 2 }) { id } }`,
      { id: op.id },
      'CONFLICT',
      'maxDialogs',
    );
  });

  it('drains on close, on transfer away, and when an operator joins a group', async () => {
    const g = await createGroup(t.admin);
    const h = await createGroup(t.admin);
    const a = await online([g.id], 1);
    const d1 = await newDialog({ groupId: g.id });
    const d2 = await newDialog({ groupId: g.id });
    expect(d2.status).toBe('QUEUED');
    await closeDialog(bot, d1.id);
    expect((await getDialog(t.admin, d2.id)).operator?.id).toBe(a);

    const d3 = await newDialog({ groupId: g.id });
    expect(d3.status).toBe('QUEUED');
    const b = await createOperator(t.admin, { maxDialogs: 1 });
    await setStatus(t.admin, b.id, 'ONLINE'); // b drains d3 (any)
    expect((await getDialog(t.admin, d3.id)).operator?.id).toBe(b.id);
    const d4 = await newDialog({ groupId: h.id });
    expect(d4.status).toBe('QUEUED');
    // a hands d2 on to h (nobody free there: it queues) and then takes the most urgent queued one.
    const aSession = t.client(
      await login(
        t.client(),
        (await t.admin.ok(`query($id: ID!) { operator(id: $id) { email } }`, { id: a })).operator.email,
        'correct horse battery',
      ),
    );
    const moved = await transfer(aSession, d2.id, { groupId: h.id });
    expect(moved.status).toBe('QUEUED');
    expect((await getDialog(t.admin, d4.id)).operator?.id).toBe(a);

    const c = await online([], 5);
    expect((await getDialog(t.admin, d2.id)).operator?.id).toBe(c);
    const d5 = await newDialog({ groupId: h.id });
    expect(d5.operator!.id).toBe(c);
    await closeDialog(bot, d5.id);
  });

  it('lets an operator take a dialog from Help by hand, within limits', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { maxDialogs: 1 });
    const session = t.client(await login(t.client(), op.email, op.password));
    const TAKE = `mutation($id: ID!) { takeDialog(dialogId: $id) { status operator { id } } }`;
    const q1 = await newDialog({ groupId: g.id });
    const offline = await session.fails(TAKE, { id: q1.id }, 'CONFLICT', 'dialogId');
    expect(offline.extensions?.reason).toBe('NOT_ONLINE');
    // Coming online drains q1 at once; the Help queue then holds q2.
    await session.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    expect((await getDialog(t.admin, q1.id)).operator?.id).toBe(op.id);
    const q2 = await newDialog({ groupId: g.id });
    expect(q2.status).toBe('QUEUED');
    const full = await session.fails(TAKE, { id: q2.id }, 'CONFLICT', 'dialogId');
    expect(full.extensions?.reason).toBe('AT_CAPACITY');
    const notQueued = await session.fails(TAKE, { id: q1.id }, 'CONFLICT', 'dialogId');
    expect(notQueued.extensions?.reason).toBe('NOT_QUEUED');
    await session.fails(TAKE, { id: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', 'dialogId');
    // Taking by hand skips the automatic order: with room for one more, take q2 explicitly
    // before anything drains (the database row is set directly to avoid the drain).
    const db = new (await import('pg')).default.Client({ connectionString: t.db.url });
    await db.connect();
    await db.query('update operators set max_dialogs = 2 where id = $1', [op.id]);
    await db.end();
    const { takeDialog } = await session.ok(TAKE, { id: q2.id });
    expect(takeDialog).toEqual({ status: 'ASSIGNED', operator: { id: op.id } });
    expect(await lastTransfer(t.admin, q2.id)).toMatchObject({ kind: 'TAKE', outcome: 'ASSIGNED_TO_TARGET' });
    expect(await load(op.id)).toBe(2);
  });
});

describe('logout re-routing', () => {
  it("moves an offline operator's dialogs: their group, then any, then Help", async () => {
    const g = await createGroup(t.admin);
    const leaving = await createOperator(t.admin, { groupIds: [g.id] });
    const session = t.client(await login(t.client(), leaving.email, leaving.password));
    await session.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const ds = [await newDialog({ groupId: g.id }), await newDialog({ groupId: g.id }), await newDialog({ groupId: g.id })];
    for (const d of ds) expect(d.operator!.id).toBe(leaving.id);
    const colleague = await online([g.id], 1);
    const stranger = await online([], 1);
    await session.ok(`mutation { logout }`);
    const after = await Promise.all(ds.map((d) => getDialog(t.admin, d.id)));
    const holders = after.map((d) => d.operator?.id ?? 'help').sort();
    expect(holders).toEqual([colleague, stranger, 'help'].sort());
    expect(await load(leaving.id)).toBe(0);
    const kinds = await Promise.all(ds.map((d) => lastTransfer(t.admin, d.id)));
    expect(kinds.every((k) => k.kind === 'REROUTE' && k.fromOperator?.id === leaving.id)).toBe(true);
  });
});

describe("a transfer's first statement", () => {
  /** Whether another transaction can lock the operator's row at once (it is released again). */
  async function operatorFree(client: pg.Client, id: string): Promise<boolean> {
    await client.query('begin');
    try {
      await client.query('select id from operators where id = $1 for no key update nowait', [id]);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') return false;
      throw error;
    } finally {
      await client.query('rollback');
    }
  }

  it('picks a group member ahead only after the dialog is locked, and only when route() would pick first', async () => {
    const g = await createGroup(t.admin);
    const member = await online([g.id]);
    const dialog = await startDialog(bot);
    await withConnections(t.db.url, 2, async ([holder, probe]) => {
      // Someone else holds the dialog: the statement waits for it, holding no operator meanwhile.
      await holder.query('begin');
      await holder.query('select id from dialogs where id = $1 for no key update', [dialog.id]);
      const router = t.app.services.router;
      const locking = inTransaction(t.app.services.bus.fork(), async (tx) => {
        const locked = await router.lockDialogWithTargets(tx, dialog.id, { groupId: g.id, operatorId: null });
        // Still inside the transaction: the member picked is held by it.
        return { picked: locked?.picked, memberFree: await operatorFree(probe, member) };
      });
      await eventually(() => lockAwaited(probe), 10_000, 'the statement waiting for the dialog row');
      expect(await operatorFree(probe, member)).toBe(true);
      await holder.query('commit');
      expect(await locking).toEqual({ picked: member, memberFree: false });

      // A named operator: route() locks them first, so nothing is picked ahead.
      const named = await inTransaction(t.app.services.bus.fork(), async (tx) => {
        const locked = await router.lockDialogWithTargets(tx, dialog.id, { groupId: g.id, operatorId: member });
        return { picked: locked?.picked, memberFree: await operatorFree(probe, member) };
      });
      expect(named).toEqual({ picked: undefined, memberFree: true });
    });
  });
});
