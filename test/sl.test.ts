import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, getDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import type { GraphqlClient } from './helpers/gql.js';
import { assertInvariants } from './helpers/invariants.js';
import { eventually } from './helpers/eventually.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

const T0 = '2026-03-01T10:00:00.000Z';
let t: TestApp;
let clock: ManualClock;
let bot: GraphqlClient;

beforeEach(async () => {
  clock = new ManualClock(T0);
  t = await startTestApp({ clock, config: { slDefaultFirstResponseSec: 45, slDefaultNextResponseSec: 90 } });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(async () => {
  await assertInvariants(t.db.url);
  await t.stop();
});

const SEC = 1000;
const REPORT = `query($g: ID, $o: ID, $from: DateTime!, $to: DateTime!) {
  slReport(groupId: $g, operatorId: $o, from: $from, to: $to) {
    from to sessions firstResponsesWithinSl firstResponseSlPercent nextResponses nextResponsesWithinSl nextResponseSlPercent avgFirstResponseSec
  } }`;

async function onlineOperator(
  groupIds: string[],
  extra: { autoLogoutSec?: number } = {},
): Promise<{ id: string; client: GraphqlClient; token: string }> {
  const op = await createOperator(t.admin, { groupIds, ...extra });
  const token = await login(t.client(), op.email, op.password);
  const client = t.client(token);
  await client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
  return { id: op.id, client, token };
}

const reply = (c: GraphqlClient, id: string): Promise<unknown> =>
  c.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "on it") { id } }`, { id });
const clientSays = (id: string): Promise<unknown> =>
  bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hello?") { id } }`, { id });

describe('SL clocks', () => {
  it('first response: starts on hand-over with the group target, met or missed by the reply time', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 30, slNextResponseSec: 60 });
    const op = await onlineOperator([g.id]);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d.slTimer).toMatchObject({ kind: 'FIRST_RESPONSE', remainingMs: 30 * SEC, breached: false, startedAt: T0 });
    clock.advance(40 * SEC);
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ remainingMs: -10 * SEC, breached: true });
    await reply(op.client, d.id);
    const after = await getDialog(t.admin, d.id);
    expect(after.slTimer).toBeNull();
    expect(after.firstResponseAt).toBe(clock.now().toISOString());
  });

  it('next response: starts at the first client message after a reply; a burst keeps the first start; transfers do not restart', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 30, slNextResponseSec: 60 });
    const g2 = await createGroup(t.admin, { slFirstResponseSec: 5, slNextResponseSec: 5 });
    const a = await onlineOperator([g.id]);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    await clientSays(d.id); // before any reply: the first-response clock keeps running
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ kind: 'FIRST_RESPONSE', startedAt: T0 });
    clock.advance(10 * SEC);
    await reply(a.client, d.id);
    clock.advance(5 * SEC);
    await clientSays(d.id);
    const started = clock.now().toISOString();
    clock.advance(5 * SEC);
    await clientSays(d.id);
    let view = await getDialog(t.admin, d.id);
    expect(view.slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', startedAt: started, remainingMs: 55 * SEC });
    // Handing the dialog to another group keeps the running clock (and its target).
    const b = await onlineOperator([g2.id]);
    view = await transfer(a.client, d.id, { groupId: g2.id });
    expect(view.operator!.id).toBe(b.id);
    expect(view.slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', startedAt: started, remainingMs: 55 * SEC });
  });

  it("the first-response clock survives Help, a drain and a transfer; the next clock takes the new group's target; target edits leave running clocks alone", async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 30, slNextResponseSec: 60 });
    const g2 = await createGroup(t.admin, { slFirstResponseSec: 5, slNextResponseSec: 20 });
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d.status).toBe('QUEUED');
    const first = { kind: 'FIRST_RESPONSE', startedAt: T0, deadline: new Date(Date.parse(T0) + 30 * SEC).toISOString() };
    expect(d.slTimer).toMatchObject(first);

    clock.advance(10 * SEC);
    const a = await onlineOperator([g.id]); // drains the dialog from Help
    let view = await getDialog(t.admin, d.id);
    expect(view.operator!.id).toBe(a.id);
    expect(view.slTimer).toMatchObject({ ...first, remainingMs: 20 * SEC });

    clock.advance(5 * SEC);
    const b = await onlineOperator([g2.id]);
    view = await transfer(a.client, d.id, { groupId: g2.id });
    expect(view.operator!.id).toBe(b.id);
    expect(view.slTimer).toMatchObject({ ...first, remainingMs: 15 * SEC });

    await reply(b.client, d.id);
    clock.advance(2 * SEC);
    await clientSays(d.id);
    view = await getDialog(t.admin, d.id);
    const nextStart = clock.now().toISOString();
    expect(view.slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', startedAt: nextStart, remainingMs: 20 * SEC });

    await t.admin.ok(
      `mutation($id: ID!) { updateGroup(id: $id, input: { slNextResponseSec: 300, slFirstResponseSec: 300 }) { id } }`,
      { id: g2.id },
    );
    clock.advance(1 * SEC);
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({
      kind: 'NEXT_RESPONSE',
      startedAt: nextStart,
      remainingMs: 19 * SEC,
    });
    // The one after that starts with the new target.
    await reply(b.client, d.id);
    await clientSays(d.id);
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', remainingMs: 300 * SEC });
  });

  it('a dialog without a group uses the server-wide default targets', async () => {
    const op = await onlineOperator([]);
    // No scenario, hence no fallback group: the bot cannot make one either.
    await bot.fails(`mutation { createScenario(name: "no fallback") { id } }`, undefined, 'FORBIDDEN');
    const d = await startDialog(bot);
    expect(d.group).toBeNull();
    const { reportBotFailure } = await bot.ok(
      `mutation($id: ID!) { reportBotFailure(dialogId: $id, reason: "parser crashed") { status group { id } operator { id } slTimer { kind remainingMs } } }`,
      { id: d.id },
    );
    expect(reportBotFailure).toMatchObject({
      status: 'ASSIGNED',
      group: null,
      operator: { id: op.id },
      slTimer: { kind: 'FIRST_RESPONSE', remainingMs: 45 * SEC },
    });
    await reply(op.client, d.id);
    await clientSays(d.id);
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', remainingMs: 90 * SEC });
  });
});

describe('SL report', () => {
  it('counts sessions, responses within SL, percentages and the average from hand-made timelines', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    const other = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    const a = await onlineOperator([g.id]);
    const from = clock.now().toISOString();

    // d1: first reply after 20 s (met); client at +30, reply at +40 (next, met)
    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(20 * SEC);
    await reply(a.client, d1.id);
    clock.advance(10 * SEC);
    await clientSays(d1.id);
    clock.advance(10 * SEC);
    await reply(a.client, d1.id);

    // d2: first reply after 100 s (missed); client, reply after 45 s (next, missed)
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(100 * SEC);
    await reply(a.client, d2.id);
    await clientSays(d2.id);
    clock.advance(45 * SEC);
    await reply(a.client, d2.id);

    // d3: closed after 70 s without a reply: missed
    const d3 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(70 * SEC);
    await closeDialog(bot, d3.id);

    // d4: closed after 10 s without a reply: the client left; a session, but undecided
    const d4 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(10 * SEC);
    await closeDialog(bot, d4.id);

    // d5: still running, 30 s in (undecided); d6 in another group, running 61 s (missed) later
    await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const d6 = await transfer(bot, (await startDialog(bot)).id, { groupId: other.id });
    expect(d6.operator!.id).toBe(a.id);
    clock.advance(30 * SEC);
    const to = new Date(clock.now().getTime() + 1).toISOString();

    const { slReport } = await t.admin.ok(REPORT, { g: g.id, from, to });
    expect(slReport).toEqual({
      from,
      to,
      sessions: 5,
      firstResponsesWithinSl: 1,
      firstResponseSlPercent: 33.33, // 1 of 3 decided (d1 met; d2, d3 missed)
      nextResponses: 2,
      nextResponsesWithinSl: 1,
      nextResponseSlPercent: 50,
      avgFirstResponseSec: 60, // (20 + 100) / 2
    });
    clock.advance(31 * SEC); // d5 and d6 now overdue
    const all = (await t.admin.ok(REPORT, { from, to })).slReport;
    expect(all).toMatchObject({ sessions: 6, firstResponsesWithinSl: 1, firstResponseSlPercent: 20 });
    const mine = (await a.client.ok(REPORT, { o: a.id, from, to })).slReport;
    expect(mine.sessions).toBe(6);
    const empty = (await t.admin.ok(REPORT, { g: g.id, from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' })).slReport;
    expect(empty).toMatchObject({
      sessions: 0,
      firstResponseSlPercent: null,
      nextResponseSlPercent: null,
      avgFirstResponseSec: null,
    });

    await t.admin.fails(REPORT, { from: to, to: from }, 'BAD_USER_INPUT', 'to');
    await t.admin.fails(REPORT, { g: '00000000-0000-4000-8000-000000000000', from, to }, 'NOT_FOUND', 'groupId');
    await a.client.fails(REPORT, { from, to }, 'FORBIDDEN');
  });
});

describe('SL boundaries', () => {
  it('a report with sessions but nothing decided has null percentages', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    await onlineOperator([g.id]);
    const from = clock.now().toISOString();
    await transfer(bot, (await startDialog(bot)).id, { groupId: g.id }); // still running
    const left = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(10 * SEC);
    await closeDialog(bot, left.id); // the client left before the deadline
    const to = new Date(clock.now().getTime() + 1).toISOString();
    expect((await t.admin.ok(REPORT, { g: g.id, from, to })).slReport).toMatchObject({
      sessions: 2,
      firstResponsesWithinSl: 0,
      firstResponseSlPercent: null,
      nextResponses: 0,
      nextResponseSlPercent: null,
      avgFirstResponseSec: null,
    });
    // Exactly at the deadline the running clock is not yet missed; a millisecond later it is.
    clock.advance(50 * SEC);
    expect((await t.admin.ok(REPORT, { g: g.id, from, to })).slReport.firstResponseSlPercent).toBeNull();
    clock.advance(1);
    expect((await t.admin.ok(REPORT, { g: g.id, from, to })).slReport.firstResponseSlPercent).toBe(0);
    await assertInvariants(t.db.url);
  });

  it('at the deadline exactly: not breached, and a reply then meets the target', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 10 });
    const op = await onlineOperator([g.id]);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(10 * SEC);
    expect((await getDialog(t.admin, d.id)).slTimer).toMatchObject({ remainingMs: 0, breached: false });
    expect((await t.app.sweeper.runOnce()).breached).toBe(0);
    await reply(op.client, d.id);
    const from = new Date(clock.now().getTime() - 10 * SEC).toISOString();
    const to = new Date(clock.now().getTime() + 1).toISOString();
    expect((await t.admin.ok(REPORT, { g: g.id, from, to })).slReport).toMatchObject({
      firstResponsesWithinSl: 1,
      firstResponseSlPercent: 100,
    });

    const late = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    clock.advance(10 * SEC);
    expect((await t.app.sweeper.runOnce()).breached).toBe(0);
    clock.advance(1);
    expect((await t.app.sweeper.runOnce()).breached).toBe(1);
    expect((await getDialog(t.admin, late.id)).slTimer).toMatchObject({ remainingMs: -1, breached: true });
    await assertInvariants(t.db.url);
  });
});

describe('sweeps', () => {
  it('detects a breach once', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 10 });
    await onlineOperator([g.id]);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await t.app.sweeper.runOnce()).breached).toBe(0);
    clock.advance(11 * SEC);
    expect((await t.app.sweeper.runOnce()).breached).toBe(1);
    expect((await t.app.sweeper.runOnce()).breached).toBe(0);
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    const { rows } = await db.query('select sl_breached_at from dialogs where id = $1', [d.id]);
    await db.end();
    expect(new Date(rows[0].sl_breached_at).toISOString()).toBe(clock.now().toISOString());
  });

  it('logs an inactive operator out: offline, sessions revoked, dialogs re-routed; a reply resets the timer', async () => {
    const g = await createGroup(t.admin);
    const lazy = await onlineOperator([g.id], { autoLogoutSec: 60 });
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d.operator!.id).toBe(lazy.id);
    clock.advance(50 * SEC);
    await reply(lazy.client, d.id);
    clock.advance(59 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(0);
    const busy = await onlineOperator([g.id]);
    clock.advance(2 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(1);
    const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { status activeDialogCount } }`, { id: lazy.id });
    expect(operator).toEqual({ status: 'OFFLINE', activeDialogCount: 0 });
    expect((await getDialog(t.admin, d.id)).operator!.id).toBe(busy.id);
    await lazy.client.fails(`{ me { id } }`, undefined, 'UNAUTHENTICATED');
  });

  it('drains a dialog left queued while an operator had capacity', async () => {
    const g = await createGroup(t.admin);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(d.status).toBe('QUEUED');
    // An operator who is online with capacity, but never got the wake-up (as if the dialog was
    // queued while the operator's own transaction freed capacity).
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    await db.query(`update operators set status = 'ONLINE' where id = $1`, [op.id]);
    await db.end();
    expect((await t.app.sweeper.runOnce()).drained).toBe(1);
    expect((await getDialog(t.admin, d.id)).operator!.id).toBe(op.id);
  });
});

describe('SL in real time', () => {
  it('breaches a 1-second target with the system clock and the background sweep', async () => {
    const rt = await startTestApp({ config: { sweepIntervalMs: 100 } });
    try {
      const rtBot = rt.client(await apiToken(rt.admin, 'INTEGRATION'));
      const g = await createGroup(rt.admin, { slFirstResponseSec: 1 });
      const op = await createOperator(rt.admin, { groupIds: [g.id] });
      await setStatus(rt.admin, op.id, 'ONLINE');
      const d = await transfer(rtBot, (await startDialog(rtBot)).id, { groupId: g.id });
      expect(d.slTimer!.breached).toBe(false);
      const db = new pg.Client({ connectionString: rt.db.url });
      await db.connect();
      const deadline = Date.now() + 10_000;
      let breachedAt: unknown = null;
      while (!breachedAt && Date.now() < deadline) {
        breachedAt = (await db.query('select sl_breached_at from dialogs where id = $1', [d.id])).rows[0].sl_breached_at;
        if (!breachedAt) await new Promise((r) => setTimeout(r, 100));
      }
      await db.end();
      expect(breachedAt).not.toBeNull();
      expect((await getDialog(rt.admin, d.id)).slTimer).toMatchObject({ breached: true });
    } finally {
      await rt.stop();
    }
  });
});

/** Waits until `app`'s bus has `n` more handlers than `before` (subscriptions registered). */
async function registered(app: TestApp, before: number, n: number): Promise<void> {
  await eventually(() => app.app.services.bus.handlerCount() >= before + n, 10_000, 'subscriptions registered');
}

describe('SL events on subscriptions', () => {
  it('queueChanged and dialogEvents carry SL_WARNING, then SL_BREACHED, once each', async () => {
    const wClock = new ManualClock(T0);
    const w = await startTestApp({ clock: wClock, config: { slWarningSec: 5 } });
    try {
      const wBot = w.client(await apiToken(w.admin, 'INTEGRATION'));
      const g = await createGroup(w.admin, { slFirstResponseSec: 10 });
      const op = await createOperator(w.admin, { groupIds: [g.id] });
      const token = await login(w.client(), op.email, op.password);
      await w.client(token).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
      const d = await transfer(wBot, (await startDialog(wBot)).id, { groupId: g.id });
      expect(d.operator!.id).toBe(op.id);

      const admin = wsClient(w.app.server.wsUrl, ADMIN_TOKEN);
      const opWs = wsClient(w.app.server.wsUrl, token);
      const before = w.app.services.bus.handlerCount();
      const queue = subscribe(
        admin,
        `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id slTimer { breached remainingMs } } } }`,
        { g: g.id },
      );
      const EVENTS = `subscription($id: ID!) { dialogEvents(dialogId: $id) { type dialog { id slTimer { breached } } } }`;
      const events = subscribe(admin, EVENTS, { id: d.id });
      const opEvents = subscribe(opWs, EVENTS, { id: d.id });
      await registered(w, before, 3);

      wClock.advance(4 * SEC); // 6 s left: not yet within the warning window
      expect(await w.app.sweeper.runOnce()).toMatchObject({ warned: 0, breached: 0 });
      wClock.advance(1 * SEC);
      expect(await w.app.sweeper.runOnce()).toMatchObject({ warned: 1, breached: 0 });
      expect((await queue.next()).queueChanged).toEqual({
        type: 'SL_WARNING',
        dialog: { id: d.id, slTimer: { breached: false, remainingMs: 5 * SEC } },
      });
      expect((await events.next()).dialogEvents).toEqual({
        type: 'SL_WARNING',
        dialog: { id: d.id, slTimer: { breached: false } },
      });
      expect((await opEvents.next()).dialogEvents.type).toBe('SL_WARNING');

      wClock.advance(5 * SEC + 1);
      expect(await w.app.sweeper.runOnce()).toMatchObject({ warned: 0, breached: 1 });
      expect((await queue.next()).queueChanged).toEqual({
        type: 'SL_BREACHED',
        dialog: { id: d.id, slTimer: { breached: true, remainingMs: -1 } },
      });
      expect((await events.next()).dialogEvents).toEqual({
        type: 'SL_BREACHED',
        dialog: { id: d.id, slTimer: { breached: true } },
      });
      expect((await opEvents.next()).dialogEvents.type).toBe('SL_BREACHED');

      // Announced once: later sweeps stay silent, so the next events are those of the close.
      wClock.advance(10 * SEC);
      expect(await w.app.sweeper.runOnce()).toMatchObject({ warned: 0, breached: 0 });
      await closeDialog(wBot, d.id);
      expect((await queue.next()).queueChanged.type).toBe('CLOSED');
      expect((await events.next()).dialogEvents.type).toBe('STATUS_CHANGED');
      expect((await opEvents.next()).dialogEvents.type).toBe('STATUS_CHANGED');
      await admin.dispose();
      await opWs.dispose();
      await assertInvariants(w.db.url);
    } finally {
      await w.stop();
    }
  });

  it('a breach in the Help queue reaches Help dashboards, with or without a group', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 10 });
    const aimed = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const loose = await bot.ok<{ reportBotFailure: { id: string; status: string } }>(
      `mutation($id: ID!) { reportBotFailure(dialogId: $id) { id status } }`,
      { id: (await startDialog(bot)).id },
    );
    expect([aimed.status, loose.reportBotFailure.status]).toEqual(['QUEUED', 'QUEUED']);
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const help = subscribe(ws, `subscription { queueChanged { type dialog { id } } }`);
    await registered(t, before, 1);

    clock.advance(46 * SEC); // past both the group's 10 s and the default 45 s
    expect(await t.app.sweeper.runOnce()).toMatchObject({ breached: 2 });
    const seen = [(await help.next()).queueChanged, (await help.next()).queueChanged];
    expect(seen.map((e) => e.type)).toEqual(['SL_BREACHED', 'SL_BREACHED']);
    expect(seen.map((e) => e.dialog.id).sort()).toEqual([aimed.id, loose.reportBotFailure.id].sort());
    await ws.dispose();
  });
});

describe('auto-logout', () => {
  it("closes the operator's WebSocket, announces OFFLINE, and re-routes their dialogs", async () => {
    const g = await createGroup(t.admin);
    const lazy = await onlineOperator([g.id], { autoLogoutSec: 60 });
    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const opWs = wsClient(t.app.server.wsUrl, lazy.token, { lazy: false });
    const closed = new Promise<number>((resolve) => opWs.on('closed', (e) => resolve((e as { code: number }).code)));
    await connected(opWs);
    const admin = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const mine = subscribe(opWs, `subscription { myDialogs { type } }`);
    const status = subscribe(admin, `subscription($g: ID) { operatorStatusChanged(groupId: $g) { id status } }`, { g: g.id });
    await registered(t, before, 2);

    const busy = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1 });
    await setStatus(t.admin, busy.id, 'ONLINE');
    expect((await status.next()).operatorStatusChanged).toEqual({ id: busy.id, status: 'ONLINE' });
    clock.advance(61 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(1);
    expect((await status.next()).operatorStatusChanged).toEqual({ id: lazy.id, status: 'OFFLINE' });
    expect(await closed).toBe(4401);
    // One dialog went to the colleague, the other (no capacity left) to Help.
    const views = [await getDialog(t.admin, d1.id), await getDialog(t.admin, d2.id)];
    expect(views.map((v) => v.status).sort()).toEqual(['ASSIGNED', 'QUEUED']);
    expect(views.find((v) => v.status === 'ASSIGNED')!.operator!.id).toBe(busy.id);
    mine.dispose();
    await opWs.dispose();
    await admin.dispose();
    await assertInvariants(t.db.url);
  });

  it('logging in and coming ONLINE count as activity', async () => {
    const op = await createOperator(t.admin, { autoLogoutSec: 60 });
    const STATUS = `query($id: ID!) { operator(id: $id) { status } }`;
    let token = await login(t.client(), op.email, op.password);
    await t.client(token).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    clock.advance(50 * SEC);
    token = await login(t.client(), op.email, op.password); // a second session, 50 s in
    clock.advance(20 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(0);
    clock.advance(41 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(1);
    expect((await t.admin.ok(STATUS, { id: op.id })).operator.status).toBe('OFFLINE');

    // Long after: coming back ONLINE starts a fresh 60 s.
    clock.advance(3600 * SEC);
    token = await login(t.client(), op.email, op.password);
    clock.advance(30 * SEC);
    await t.client(token).ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    clock.advance(59 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(0);
    clock.advance(2 * SEC);
    expect((await t.app.sweeper.runOnce()).loggedOut).toBe(1);
    await assertInvariants(t.db.url);
  });

  it('two processes sweeping at once log an operator out once', async () => {
    const second = await startTestApp({ db: t.db, clock });
    try {
      const g = await createGroup(t.admin);
      const ops: Array<{ id: string }> = [];
      for (let i = 0; i < 3; i++) ops.push(await onlineOperator([g.id], { autoLogoutSec: 30 }));
      for (let i = 0; i < 6; i++) await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
      const admin = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
      const before = t.app.services.bus.handlerCount();
      const status = subscribe(admin, `subscription($g: ID) { operatorStatusChanged(groupId: $g) { id status } }`, { g: g.id });
      await registered(t, before, 1);
      clock.advance(31 * SEC);
      const results = await Promise.all([t.app.sweeper.runOnce(), second.app.sweeper.runOnce()]);
      expect(results[0].loggedOut + results[1].loggedOut).toBe(3);
      const offline = [await status.next(), await status.next(), await status.next()].map((e) => e.operatorStatusChanged);
      expect(offline.map((o) => o.id).sort()).toEqual(ops.map((o) => o.id).sort());
      expect(offline.every((o) => o.status === 'OFFLINE')).toBe(true);
      // No operator's dialogs were re-routed away from them twice; all six end in Help.
      const db = new pg.Client({ connectionString: t.db.url });
      await db.connect();
      const twice = await db.query(`select dialog_id, from_operator_id from dialog_transfers where kind = 'REROUTE'
                                      group by dialog_id, from_operator_id having count(*) > 1`);
      const queued = await db.query(`select count(*)::int as n from dialogs where status = 'QUEUED'`);
      const revoked = await db.query(`select count(*)::int as n from auth_tokens where revoked_at is not null`);
      await db.end();
      expect(twice.rows).toEqual([]);
      expect(queued.rows[0].n).toBe(6);
      expect(revoked.rows[0].n).toBe(3);
      // No fourth OFFLINE from the losing sweep: the next change is the next event.
      await setStatus(t.admin, ops[0].id, 'ONLINE');
      expect((await status.next()).operatorStatusChanged).toEqual({ id: ops[0].id, status: 'ONLINE' });
      await admin.dispose();
      await assertInvariants(t.db.url);
    } finally {
      await second.stop();
    }
  });
});
