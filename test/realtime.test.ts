import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import type { GraphqlClient, GraphqlData } from './helpers/gql.js';
import { startServerProcess } from './helpers/process.js';
import { subscribe, wsClient, type Subscription } from './helpers/ws.js';
import { inTransaction } from '../src/shared/transaction.js';
import { RoutingCause } from '../src/routing/transfer-enums.js';

let t: TestApp;
let bot: GraphqlClient;
beforeEach(async () => {
  // Load tests: more sockets per token and subscriptions per socket than a dashboard opens.
  t = await startTestApp({
    config: { wsMaxSocketsPerToken: 1000, wsMaxSubscriptionsPerSocket: 1000, wsMaxSlTicksPerSocket: 1000 },
  });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(() => t.stop());

const QUEUE = `subscription($g: ID) { queueChanged(groupId: $g) { type sequence groupId dialog { id status operator { id } } stats { queued } } }`;
const MINE = `subscription { myDialogs { type sequence dialog { id status operator { id } } message { text author } } }`;
const EVENTS = `subscription($id: ID!) { dialogEvents(dialogId: $id) { type sequence dialog { id status } message { text author } } }`;
const STATUS = `subscription($g: ID) { operatorStatusChanged(groupId: $g) { id status } }`;

/** Events of `sub` up to and including the message `text`. */
async function nextMessage(sub: Subscription<GraphqlData>, text: string): Promise<GraphqlData[]> {
  const seen: GraphqlData[] = [];
  for (;;) {
    const event = await sub.next();
    seen.push(event);
    if (event.dialogEvents.message?.text === text) return seen;
  }
}

/** Waits until the bus has `n` more handlers than before (subscriptions registered). */
async function registered(before: number, n: number): Promise<void> {
  await eventually(() => t.app.services.bus.handlerCount() >= before + n, 30_000, 'subscriptions registered');
}

async function operatorSession(
  groupIds: string[],
  maxDialogs?: number,
): Promise<{ id: string; token: string; client: GraphqlClient }> {
  const op = await createOperator(t.admin, { groupIds, maxDialogs });
  const token = await login(t.client(), op.email, op.password);
  return { id: op.id, token, client: t.client(token) };
}

describe('subscriptions deliver the right events to the right people', () => {
  it('myDialogs, dialogEvents and operatorStatusChanged for an operator', async () => {
    const g = await createGroup(t.admin);
    const other = await createGroup(t.admin);
    const me = await operatorSession([g.id], 5);
    const colleague = await operatorSession([other.id], 5);
    const ws = wsClient(t.app.server.wsUrl, me.token);
    const base = t.app.services.bus.handlerCount();
    const mine = subscribe(ws, MINE);
    const status = subscribe(ws, STATUS, { g: g.id });
    const forbidden = subscribe(ws, QUEUE, { g: other.id });
    await expect(forbidden.next()).rejects.toThrow(/FORBIDDEN|own groups/);
    const notMyGroupStatus = subscribe(ws, STATUS, { g: other.id });
    await expect(notMyGroupStatus.next()).rejects.toThrow(/FORBIDDEN|own groups/);
    await registered(base, 2);

    await me.client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    expect((await status.next()).operatorStatusChanged).toEqual({ id: me.id, status: 'ONLINE' });
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const assigned = (await mine.next()).myDialogs;
    expect(assigned).toMatchObject({ type: 'ASSIGNED', dialog: { id: d.id, status: 'ASSIGNED', operator: { id: me.id } } });

    const before = t.app.services.bus.handlerCount();
    const chat = subscribe(ws, EVENTS, { id: d.id });
    await registered(before, 1);
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hi there") { id } }`, { id: d.id });
    const m1 = (await chat.next()).dialogEvents;
    expect(m1).toMatchObject({ type: 'MESSAGE', message: { text: 'hi there', author: 'CLIENT' } });
    await me.client.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "hello!") { id } }`, { id: d.id });
    const m2 = (await chat.next()).dialogEvents;
    expect(m2).toMatchObject({ type: 'MESSAGE', message: { text: 'hello!', author: 'OPERATOR' } });
    expect(m2.sequence).toBe(m1.sequence + 1);
    // Both messages are in a dialog assigned to me: my own stream carries them too.
    for (const sent of [m1, m2]) {
      expect((await mine.next()).myDialogs).toMatchObject({ type: 'MESSAGE', dialog: { id: d.id }, message: sent.message });
    }

    // Handed to another group's operator: it leaves my dialogs, and my view of its events stops.
    const admin = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const beforeAdmin = t.app.services.bus.handlerCount();
    const adminChat = subscribe(admin, EVENTS, { id: d.id });
    await registered(beforeAdmin, 1);
    await colleague.client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
    await transfer(me.client, d.id, { groupId: other.id });
    expect((await mine.next()).myDialogs).toMatchObject({
      type: 'TRANSFERRED',
      dialog: { id: d.id, operator: { id: colleague.id } },
    });
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "still there?") { id } }`, { id: d.id });
    // Every stream of this process judges an event on one shared load of the dialog: once the
    // admin has the message, my stream's verdict on it cannot see the transfer back below.
    await nextMessage(adminChat, 'still there?');
    // Nothing replayed: a new subscriber's first event is the next change.
    const beforeView = t.app.services.bus.handlerCount();
    const adminView = subscribe(admin, EVENTS, { id: d.id });
    await registered(beforeView, 1);
    // Back to my group, hence to me: my stream resumes, without the message it missed.
    await transfer(bot, d.id, { groupId: g.id });
    expect((await adminView.next()).dialogEvents).toMatchObject({ type: 'STATUS_CHANGED', message: null });
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "back again") { id } }`, { id: d.id });
    const resumed = await nextMessage(chat, 'back again');
    expect(resumed.map((e) => e.dialogEvents.type)).toEqual(['STATUS_CHANGED', 'MESSAGE']);
    expect(resumed[1].dialogEvents.sequence).toBe(resumed[0].dialogEvents.sequence + 1);
    await closeDialog(bot, d.id);
    await me.client.ok(`mutation { setOperatorStatus(status: OFFLINE) { id } }`);
    expect((await status.next()).operatorStatusChanged).toEqual({ id: me.id, status: 'OFFLINE' });
    await ws.dispose();
    await admin.dispose();
  });

  it('integrations follow queues and dialogs but not operator status; operators only visible dialogs', async () => {
    const g = await createGroup(t.admin);
    const integration = await apiToken(t.admin, 'INTEGRATION');
    const ws = wsClient(t.app.server.wsUrl, integration);
    await expect(subscribe(ws, STATUS, {}).next()).rejects.toThrow(/FORBIDDEN|Not allowed/);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id }); // queued: nobody online
    const outsider = await operatorSession([]);
    const opWs = wsClient(t.app.server.wsUrl, outsider.token);
    const hidden = await startDialog(bot);
    await expect(subscribe(opWs, EVENTS, { id: hidden.id }).next()).rejects.toThrow(/FORBIDDEN|not visible/);
    const before = t.app.services.bus.handlerCount();
    const queuedView = subscribe(opWs, EVENTS, { id: d.id }); // queued in Help: visible
    const help = subscribe(opWs, QUEUE, { g: null });
    const botView = subscribe(ws, EVENTS, { id: d.id });
    await registered(before, 3);
    await bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "anyone?") { id } }`, { id: d.id });
    expect((await queuedView.next()).dialogEvents.message.text).toBe('anyone?');
    expect((await botView.next()).dialogEvents.message.text).toBe('anyone?');
    await outsider.client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`); // drains d to the outsider
    expect((await help.next()).queueChanged).toMatchObject({
      type: 'ASSIGNED',
      dialog: { id: d.id, operator: { id: outsider.id } },
    });
    await expect(subscribe(ws, `subscription { myDialogs { type } }`).next()).rejects.toThrow(/FORBIDDEN|operator session/);
    await ws.dispose();
    await opWs.dispose();
  });
});

describe('operatorStatusChanged', () => {
  const SEQ = `subscription($g: ID) { operatorStatusChanged(groupId: $g) { id status statusSequence groups { id } } }`;

  it("a group's stream sees a deleted member go OFFLINE, numbered without gaps", async () => {
    const g = await createGroup(t.admin);
    const elsewhere = await createGroup(t.admin);
    const a = await createOperator(t.admin, { groupIds: [g.id] });
    const b = await createOperator(t.admin, { groupIds: [g.id, elsewhere.id] });
    const stranger = await createOperator(t.admin, { groupIds: [elsewhere.id] });
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const group = subscribe(ws, SEQ, { g: g.id });
    const all = subscribe(ws, SEQ, { g: null });
    await registered(before, 2);

    await setStatus(t.admin, a.id, 'ONLINE');
    await setStatus(t.admin, stranger.id, 'ONLINE'); // not in g: not in g's stream, and no gap there
    await setStatus(t.admin, b.id, 'ONLINE');
    await t.admin.ok(`mutation($id: ID!) { deleteOperator(id: $id) }`, { id: a.id });

    const seen = [await group.next(), await group.next(), await group.next()].map((e) => e.operatorStatusChanged);
    expect(seen.map((e) => [e.id, e.status])).toEqual([
      [a.id, 'ONLINE'],
      [b.id, 'ONLINE'],
      [a.id, 'OFFLINE'],
    ]);
    expect(seen[2].groups).toEqual([]); // it has left the group, yet its subscribers heard of it
    const first = seen[0].statusSequence;
    expect(seen.map((e) => e.statusSequence)).toEqual([first, first + 1, first + 2]);

    const everyone = await Promise.all([all.next(), all.next(), all.next(), all.next()]);
    const numbers = everyone.map((e) => e.operatorStatusChanged.statusSequence);
    expect(numbers).toEqual([numbers[0], numbers[0] + 1, numbers[0] + 2, numbers[0] + 3]);
    // The stranger's change never reached g's stream: the next one there is b's, numbered next.
    await setStatus(t.admin, b.id, 'OFFLINE');
    const control = (await group.next()).operatorStatusChanged;
    expect([control.id, control.status, control.statusSequence]).toEqual([b.id, 'OFFLINE', first + 3]);

    // Outside the event it has no sequence.
    const { operator } = await t.admin.ok(`query($id: ID!) { operator(id: $id) { statusSequence } }`, { id: b.id });
    expect(operator.statusSequence).toBeNull();
    await ws.dispose();
  });
});

describe('sequences and committed changes', () => {
  it('a rolled-back change emits nothing; a reconnecting client detects what it missed', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 100 });
    await setStatus(t.admin, op.id, 'ONLINE');
    let ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    let before = t.app.services.bus.handlerCount();
    let sub = subscribe(ws, QUEUE, { g: g.id });
    await registered(before, 1);
    const d1 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const e1 = (await sub.next()).queueChanged;
    expect(e1).toMatchObject({ type: 'ASSIGNED', dialog: { id: d1.id } });

    // A routing decision that fails after it was made (and announced) inside its transaction,
    // on a dialog of its own, so nothing later can be mistaken for its event.
    const ghost = await startDialog(bot);
    const pending = await startDialog(bot);
    const { services, orm } = t.app;
    await expect(
      inTransaction(orm.em.fork(), async (tx) => {
        const dialog = await services.router.lockDialog(tx, ghost.id);
        await services.router.route(tx, dialog!, {
          cause: RoutingCause.TRANSFER,
          groupId: g.id,
          operatorId: null,
          excludeOperatorId: null,
        });
        throw new Error('fails half-way');
      }),
    ).rejects.toThrow('fails half-way');
    // Nothing committed, nothing sent: the next event is the next real change, numbered next
    // (a ghost event would have arrived before it).
    expect((await t.admin.ok(`query($id: ID!) { dialog(id: $id) { status } }`, { id: ghost.id })).dialog.status).toBe('BOT');
    const d2 = await transfer(bot, pending.id, { groupId: g.id });
    const e2 = (await sub.next()).queueChanged;
    expect(e2).toMatchObject({ type: 'ASSIGNED', dialog: { id: d2.id } });
    expect(e2.sequence).toBe(e1.sequence + 1);
    expect(sub.buffered).toEqual([]);

    // Drop the connection, miss three changes, come back.
    await ws.dispose();
    await eventually(() => t.app.server.sockets.size === 0, 5000, 'socket closed');
    for (let i = 0; i < 3; i++) await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    before = t.app.services.bus.handlerCount();
    sub = subscribe(ws, QUEUE, { g: g.id });
    await registered(before, 1);
    await closeDialog(bot, d1.id);
    const e3 = (await sub.next()).queueChanged;
    expect(e3).toMatchObject({ type: 'CLOSED', dialog: { id: d1.id, status: 'CLOSED' } });
    expect(e3.sequence - e2.sequence - 1).toBe(3); // the gap tells the client to refetch
    await ws.dispose();
  });
});

describe('event bus', () => {
  it('a throwing handler of every event neither crashes the process nor starves other subscribers', async () => {
    const g = await createGroup(t.admin);
    let calls = 0;
    const off = t.app.services.bus.subscribeAll(() => {
      calls++;
      throw new Error('a broken index');
    });
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const sub = subscribe(ws, QUEUE, { g: g.id });
    await registered(before, 1);
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await sub.next()).queueChanged).toMatchObject({ type: 'QUEUED', dialog: { id: d.id } });
    expect(calls).toBeGreaterThan(0);
    off();
    await ws.dispose();
  });
});

describe('commit order', () => {
  it('concurrent transfers into one group through two server processes: every subscriber sees 1, 2, 3, … in the same order', async () => {
    const second = await startTestApp({ db: t.db });
    try {
      const g = await createGroup(t.admin);
      const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1000 });
      await setStatus(t.admin, op.id, 'ONLINE');
      const bot2 = second.client(await apiToken(second.admin, 'INTEGRATION'));
      const N = 40;
      const dialogs = await Promise.all(Array.from({ length: N }, () => startDialog(bot)));
      const wsA = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
      const wsB = wsClient(second.app.server.wsUrl, ADMIN_TOKEN);
      const beforeA = t.app.services.bus.handlerCount();
      const beforeB = second.app.services.bus.handlerCount();
      const onA = subscribe(wsA, QUEUE, { g: g.id });
      const onB = subscribe(wsB, QUEUE, { g: g.id });
      await registered(beforeA, 1);
      await eventually(() => second.app.services.bus.handlerCount() >= beforeB + 1, 10_000, 'second process subscribed');

      await Promise.all(dialogs.map((d, i) => transfer(i % 2 ? bot : bot2, d.id, { groupId: g.id })));
      const seenA = await Promise.all(Array.from({ length: N }, () => onA.next(15_000)));
      const seenB = await Promise.all(Array.from({ length: N }, () => onB.next(15_000)));
      const sequences = seenA.map((e) => e.queueChanged.sequence);
      expect(sequences).toEqual(Array.from({ length: N }, (_, i) => sequences[0] + i));
      expect(new Set(seenA.map((e) => e.queueChanged.dialog.id)).size).toBe(N);
      // Both processes agree on which change each number is.
      const order = (events: typeof seenA): string[] =>
        events.map((e) => `${e.queueChanged.sequence}:${e.queueChanged.dialog.id}`);
      expect(order(seenB)).toEqual(order(seenA));
      // Nothing beyond the N: the next change is the next event on both processes.
      const last = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
      for (const sub of [onA, onB]) {
        expect((await sub.next(15_000)).queueChanged).toMatchObject({ dialog: { id: last.id }, sequence: sequences[0] + N });
      }
      await wsA.dispose();
      await wsB.dispose();
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe('connections', () => {
  it('tears down subscriptions of disconnected clients (1,000 connect/subscribe/disconnect cycles)', async () => {
    const g = await createGroup(t.admin);
    const baseline = t.app.services.bus.handlerCount();
    const BATCH = 50;
    let peakHandlers = 0;
    let peakTickers = 0;
    for (let batch = 0; batch < 20; batch++) {
      const clients = Array.from({ length: BATCH }, () => {
        const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
        const sub = subscribe(ws, QUEUE, { g: batch % 2 ? g.id : null });
        const ticks = subscribe(ws, `subscription { slTicks(intervalMs: 1000) { serverTime } }`);
        return { ws, sub, ticks };
      });
      // Every subscription of the batch is live on the server before any is torn down.
      await eventually(
        () => t.app.services.bus.handlerCount() >= baseline + BATCH && t.app.services.slTicker.subscriberCount() >= BATCH,
        30_000,
        `batch ${batch} registered`,
      );
      peakHandlers = Math.max(peakHandlers, t.app.services.bus.handlerCount());
      peakTickers = Math.max(peakTickers, t.app.services.slTicker.subscriberCount());
      await Promise.all(
        clients.map(async ({ ws, sub, ticks }) => {
          sub.dispose();
          ticks.dispose();
          await ws.dispose();
        }),
      );
    }
    expect(peakHandlers).toBeGreaterThanOrEqual(baseline + BATCH);
    expect(peakTickers).toBeGreaterThanOrEqual(BATCH);
    await eventually(
      () =>
        t.app.services.bus.handlerCount() === baseline &&
        t.app.server.sockets.size === 0 &&
        t.app.services.slTicker.subscriberCount() === 0,
      10_000,
      'all handlers and sockets released',
    );
    expect(t.app.services.bus.handlerCount()).toBe(baseline);
  }, 120_000);

  it('fans one event out to many subscribers with a constant number of SQL statements', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1000 });
    await setStatus(t.admin, op.id, 'ONLINE');
    const FAN = `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id status operator { id firstName groups { id } } group { id name } } stats { queued } } }`;
    await t.quiet();
    async function statementsFor(subscribers: number): Promise<number> {
      const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
      const before = t.app.services.bus.handlerCount();
      const subs = Array.from({ length: subscribers }, () => subscribe(ws, FAN, { g: g.id }));
      await registered(before, subscribers);
      const d = await startDialog(bot);
      // The start's own event is read before counting: only the transfer and its fan-out count.
      await t.settled();
      t.resetQueryCount();
      await transfer(bot, d.id, { groupId: g.id });
      const events = await Promise.all(subs.map((s) => s.next(15_000)));
      expect(events.every((e) => e.queueChanged.dialog.id === d.id)).toBe(true);
      const total = t.queryCount();
      await ws.dispose();
      await eventually(() => t.app.services.bus.handlerCount() === before, 10_000, 'subscriptions released');
      // The mutation's own statements and the fan-out's (the split between them is a race).
      return total;
    }
    const few = await statementsFor(20);
    const many = await statementsFor(200);
    console.log(`statements for one transfer and its fan-out: ${many} with 200 subscribers, ${few} with 20`);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(30);
  }, 60_000);
});

describe('across server processes', () => {
  it('a change made through one process reaches a subscriber on another', async () => {
    const other = await startServerProcess({ DATABASE_URL: t.db.url, PORT: '0', ADMIN_TOKEN });
    try {
      const g = await createGroup(t.admin);
      const ws = wsClient(other.url.replace('http', 'ws'), ADMIN_TOKEN);
      const sub = subscribe(ws, QUEUE, { g: g.id });
      // The other process registers asynchronously; keep changing until its first event arrives.
      let event: Awaited<ReturnType<typeof sub.next>> | undefined;
      for (let i = 0; i < 60 && !event; i++) {
        await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
        event = await sub.next(500).catch(() => undefined);
      }
      expect(event?.queueChanged).toMatchObject({ type: 'QUEUED', groupId: g.id });
      const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
      await eventually(() => sub.buffered.some((e) => e.queueChanged.dialog.id === d.id), 10_000, 'event on the other process');
      await ws.dispose();
    } finally {
      // Stopped while its database still exists (afterEach drops it), so the exit code means something.
      expect(await other.stop()).toBe(0);
    }
  }, 90_000);
});
