import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/eventually.js';
import { subscribe, wsClient } from './helpers/ws.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, getDialog, lastTransfer, setStatus, startDialog, transfer, type DialogView } from './helpers/dialogs.js';
import type { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { watchRoundTrips } from './helpers/round-trips.js';

let t: TestApp;
let bot: GraphqlClient;
// Routing depends on who else is online and queued: each test gets its own database.
beforeEach(async () => {
  t = await startTestApp();
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(async () => {
  await assertInvariants(t.db.url);
  await t.stop();
});

async function activeCount(id: string): Promise<number> {
  const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { activeDialogCount } }`, { id });
  return operator.activeDialogCount;
}

describe('routing to a group', () => {
  it('assigns to the least-loaded online member; ties go to the longest-waiting', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id] });
    const b = await createOperator(t.admin, { groupIds: [g.id] });
    const off = await createOperator(t.admin, { groupIds: [g.id] });
    await setStatus(t.admin, a.id, 'ONLINE');
    await setStatus(t.admin, b.id, 'ONLINE');
    const first = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(first.status).toBe('ASSIGNED');
    const second = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(second.operator!.id).not.toBe(first.operator!.id);
    expect([first.operator!.id, second.operator!.id].sort()).toEqual([a.id, b.id].sort());
    // Both hold one: the one assigned first has waited longer.
    const third = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(third.operator!.id).toBe(first.operator!.id);
    expect(await activeCount(off.id)).toBe(0);
    expect((await lastTransfer(t.admin, third.id)).outcome).toBe('ASSIGNED_TO_TARGET');
    expect(third.slTimer?.kind).toBe('FIRST_RESPONSE');
  });

  it("a bot's hand-off is two round trips to the database: BEGIN with the lock and pick, the decision with COMMIT", async () => {
    // One pooled connection, so the setup has prepared BEGIN and COMMIT on the one the transfer uses.
    const one = await startTestApp({ config: { dbPoolSize: 1 } });
    try {
      const g = await createGroup(one.admin);
      const a = await createOperator(one.admin, { groupIds: [g.id] });
      await setStatus(one.admin, a.id, 'ONLINE');
      const runtime = one.client(await apiToken(one.admin, 'INTEGRATION'));
      const { id } = await startDialog(runtime);
      const { sent, stop } = watchRoundTrips(one.app.orm.em);
      let moved: DialogView;
      try {
        moved = await transfer(runtime, id, { groupId: g.id });
      } finally {
        stop();
      }
      expect(moved.operator!.id).toBe(a.id);
      // Other work (the event log's readers) shares the connection: pick out the transfer's trips.
      const pick = sent.findIndex((text) => text.includes('as picked'));
      expect(
        sent
          .slice(pick)
          .filter((text) => /as picked|with moved as|^commit$/.test(text))
          .slice(0, 2),
      ).toEqual([
        expect.stringMatching(/^begin; select d\.\*, p\.id as picked/),
        expect.stringMatching(/^with moved as [\s\S]*; commit$/),
      ]);
    } finally {
      await one.stop();
    }
  });

  it('falls back to any available operator, then to the Help queue', async () => {
    const empty = await createGroup(t.admin);
    const other = await createGroup(t.admin);
    const x = await createOperator(t.admin, { groupIds: [other.id], maxDialogs: 1 });
    await setStatus(t.admin, x.id, 'ONLINE');

    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: empty.id });
    expect(d1.status).toBe('ASSIGNED');
    expect(d1.operator!.id).toBe(x.id);
    expect(d1.group!.id).toBe(empty.id);
    const t1 = await lastTransfer(t.admin, d1.id);
    expect(t1).toMatchObject({ outcome: 'ASSIGNED_TO_ANY', reasons: ['GROUP_EMPTY'] });

    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: empty.id });
    expect(d2.status).toBe('QUEUED');
    expect(d2.operator).toBeNull();
    expect(d2.group!.id).toBe(empty.id);
    expect((await lastTransfer(t.admin, d2.id)).outcome).toBe('QUEUED');
    expect(await activeCount(x.id)).toBe(1);

    const { helpQueue } = await t.admin.ok(`{ helpQueue { id } }`);
    expect(helpQueue.map((d: { id: string }) => d.id)).toContain(d2.id);

    // Capacity frees: the queued dialog is assigned automatically.
    await closeDialog(bot, d1.id);
    const after = await getDialog(t.admin, d2.id);
    expect(after.status).toBe('ASSIGNED');
    expect(after.operator!.id).toBe(x.id);
    expect(await activeCount(x.id)).toBe(1);
  });
});

describe('handing a dialog on', () => {
  it('a dialog an operator handed on to Help never drains back to them, not even by the sweep', async () => {
    const mine = await createGroup(t.admin);
    const busy = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [mine.id], maxDialogs: 3 });
    const b = await createOperator(t.admin, { groupIds: [busy.id], maxDialogs: 1 });
    const aClient = t.client(await login(t.client(), a.email, a.password));
    await aClient.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: mine.id });
    expect(d.operator!.id).toBe(a.id);

    const handed = await transfer(aClient, d.id, { groupId: busy.id });
    expect(handed.status).toBe('QUEUED');
    expect(await activeCount(a.id)).toBe(0);
    // A has free slots, but the sweep's drain must not give the dialog back.
    await t.app.sweeper.runOnce();
    expect(await getDialog(t.admin, d.id)).toMatchObject({ status: 'QUEUED', operator: null });
    await setStatus(t.admin, a.id, 'OFFLINE');
    await setStatus(t.admin, a.id, 'ONLINE');
    expect((await getDialog(t.admin, d.id)).status).toBe('QUEUED');

    // Someone else takes it; the exclusion ends with that assignment.
    await setStatus(t.admin, b.id, 'ONLINE');
    expect((await getDialog(t.admin, d.id)).operator!.id).toBe(b.id);
    await transfer(bot, d.id, { operatorId: a.id });
    expect((await getDialog(t.admin, d.id)).operator!.id).toBe(a.id);
  });

  it('the operator who handed a dialog on may still take it back by hand', async () => {
    const g = await createGroup(t.admin);
    const empty = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id] });
    const aClient = t.client(await login(t.client(), a.email, a.password));
    await aClient.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await transfer(aClient, d.id, { groupId: empty.id })).status).toBe('QUEUED');
    const { takeDialog } = await aClient.ok(`mutation($id: ID!) { takeDialog(dialogId: $id) { status operator { id } } }`, {
      id: d.id,
    });
    expect(takeDialog).toEqual({ status: 'ASSIGNED', operator: { id: a.id } });
  });
});

describe('the Help queue', () => {
  it('a queued dialog sent on to another busy target keeps its place and its hand-off', async () => {
    const clock = new ManualClock('2026-04-01T12:00:00.000Z');
    const own = await startTestApp({ clock });
    try {
      const ownBot = own.client(await apiToken(own.admin, 'INTEGRATION'));
      const g = await createGroup(own.admin);
      const g2 = await createGroup(own.admin);
      const a = await createOperator(own.admin, { groupIds: [g.id] });
      const aClient = own.client(await login(own.client(), a.email, a.password));
      await aClient.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
      const d = await transfer(ownBot, (await startDialog(ownBot)).id, { groupId: g.id });
      const handed = await transfer(aClient, d.id, { groupId: g2.id });
      expect(handed.status).toBe('QUEUED');
      const queuedAt = handed['queuedAt'];
      clock.advance(30_000);
      // Nobody is online: sent on to another group, the dialog waits on.
      await setStatus(own.admin, a.id, 'OFFLINE');
      const g3 = await createGroup(own.admin);
      const requeued = await transfer(ownBot, d.id, { groupId: g3.id });
      expect(requeued).toMatchObject({ status: 'QUEUED', queuedAt, group: { id: g3.id } });
      const { queueStats } = await own.admin.ok(`{ queueStats { queued longestWaitSec } }`);
      expect(queueStats).toEqual({ queued: 1, longestWaitSec: 30 });
      // Still never drained back to whoever handed it on.
      await setStatus(own.admin, a.id, 'ONLINE');
      await own.app.sweeper.runOnce();
      expect((await getDialog(own.admin, d.id)).status).toBe('QUEUED');
      await assertInvariants(own.db.url);
    } finally {
      await own.stop();
    }
  });
});

describe('event order', () => {
  it('closing announces CLOSED before the drain it makes room for', async () => {
    const g = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1 });
    await setStatus(t.admin, a.id, 'ONLINE');
    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d2.status).toBe('QUEUED');
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const queue = subscribe(ws, `subscription($g: ID) { queueChanged(groupId: $g) { type sequence dialog { id } } }`, {
      g: g.id,
    });
    await eventually(() => t.app.services.bus.handlerCount() >= before + 1, 10_000, 'subscription registered');
    await closeDialog(bot, d1.id);
    const first = (await queue.next()).queueChanged;
    const second = (await queue.next()).queueChanged;
    expect([first.type, first.dialog.id]).toEqual(['CLOSED', d1.id]);
    expect([second.type, second.dialog.id]).toEqual(['ASSIGNED', d2.id]);
    expect(second.sequence).toBe(first.sequence + 1);
    await ws.dispose();
  });
});
