import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogEventBus } from '../src/realtime/event-bus.js';
import { EventLog } from '../src/realtime/event-log.js';
import { MAX_BUFFERED, stream } from '../src/realtime/stream.js';
import { inTransaction } from '../src/shared/transaction.js';
import { DialogEventType } from '../src/dialogs/dialog-event-types.js';
import { DialogStatus } from '../src/dialogs/dialog-enums.js';
import { topics } from '../src/events/topics.js';
import { ManualClock } from '../src/shared/clock.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { closeDialog, setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import type { GraphqlClient, GraphqlData } from './helpers/gql.js';
import { subscribe, wsClient } from './helpers/ws.js';

const T0 = '2026-06-01T08:00:00.000Z';
let clock: ManualClock;
let t: TestApp;
let bot: GraphqlClient;

beforeEach(async () => {
  clock = new ManualClock(T0);
  t = await startTestApp({
    clock,
    config: { wsMaxSubscriptionsPerSocket: 500, wsMaxSocketsPerToken: 100 },
  });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterEach(() => t.stop());

const EVENTS_PAGE = `query($after: String, $first: Int, $filter: EventFilter) {
  events(after: $after, first: $first, filter: $filter) {
    edges { cursor node { id cursor type at dialog { id } message { id text } transfer { id outcome } operator { id status } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const EVENT_STREAM = `subscription($after: String, $filter: EventFilter) {
  events(after: $after, filter: $filter) { cursor type dialog { id } message { id text } }
}`;

/** Every committed event has its position (the sequencer numbers them just after their commit). */
async function settled(app: TestApp = t): Promise<void> {
  await eventually(
    async () => {
      const [row] = await app.app.orm.em
        .fork()
        .execute<Array<{ n: number }>>('select count(*)::int as n from event_log where position is null');
      return row?.n === 0;
    },
    10_000,
    'events numbered',
  );
}

async function cursorNow(client: GraphqlClient = t.admin): Promise<string> {
  await settled();
  return (await client.ok<{ eventCursor: string }>('{ eventCursor }')).eventCursor;
}

/** Every event after `after`, page by page. */
async function readAll(client: GraphqlClient, after: string, filter?: object): Promise<GraphqlData[]> {
  await settled();
  const out: GraphqlData[] = [];
  let cursor = after;
  for (;;) {
    const page = (await client.ok(EVENTS_PAGE, { after: cursor, first: 40, filter })).events;
    out.push(...page.edges.map((e: GraphqlData) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    cursor = page.pageInfo.endCursor;
  }
}

async function post(client: GraphqlClient, dialogId: string, text: string): Promise<string> {
  const data = await client.ok<{ postClientMessage: { id: string } }>(
    'mutation($id: ID!, $text: String!) { postClientMessage(dialogId: $id, text: $text) { id } }',
    { id: dialogId, text },
  );
  return data.postClientMessage.id;
}

describe('the log', () => {
  it('records every public change with its position, in commit order, and resolves what it names', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const start = await cursorNow();
    await setStatus(t.admin, op.id, 'ONLINE');
    const d = await startDialog(bot);
    const messageId = await post(bot, d.id, 'hello');
    await transfer(bot, d.id, { groupId: g.id });
    await closeDialog(t.admin, d.id);

    const events = await readAll(t.admin, start);
    expect(events.map((e) => e.type)).toEqual([
      'OPERATOR_STATUS_CHANGED',
      'DIALOG_STARTED',
      'MESSAGE_POSTED',
      'DIALOG_ASSIGNED',
      'DIALOG_CLOSED',
    ]);
    // In commit order (internal events, e.g. a dialog's own status stream, take positions between).
    const positions = events.map((e) => Number(e.cursor));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(positions[0]).toBeGreaterThan(Number(start));
    expect(events[0].operator).toEqual({ id: op.id, status: 'ONLINE' });
    expect(events[2].message).toEqual({ id: messageId, text: 'hello' });
    expect(events[3].transfer.outcome).toBe('ASSIGNED_TO_TARGET');
    expect(events.every((e) => e.at === T0)).toBe(true);
    expect(Number(await cursorNow())).toBeGreaterThanOrEqual(positions.at(-1)!);

    // Filters: one dialog's events, one type, by externalId.
    const other = await startDialog(bot, { externalId: 'chat-42' });
    await post(bot, other.id, 'again');
    expect((await readAll(t.admin, start, { dialogId: other.id })).map((e) => e.type)).toEqual([
      'DIALOG_STARTED',
      'MESSAGE_POSTED',
    ]);
    expect((await readAll(t.admin, start, { types: ['MESSAGE_POSTED'] })).map((e) => e.message.text)).toEqual(['hello', 'again']);
    expect((await readAll(t.admin, start, { externalId: 'chat-42' })).map((e) => e.dialog.id)).toEqual([other.id, other.id]);
  });

  it('an operator in 120 groups goes online, offline, logs out and is auto-logged-out: every group hears each change', async () => {
    const groups = await Promise.all(Array.from({ length: 120 }, () => createGroup(t.admin)));
    const op = await createOperator(t.admin, { groupIds: groups.map((g) => g.id), autoLogoutSec: 60 });
    const neighbour = await createOperator(t.admin, { groupIds: [groups[0].id], autoLogoutSec: 60 });
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const before = t.app.services.bus.handlerCount();
    const subs = groups.map((g) =>
      subscribe(ws, 'subscription($g: ID) { operatorStatusChanged(groupId: $g) { id status statusSequence } }', { g: g.id }),
    );
    await eventually(() => t.app.services.bus.handlerCount() >= before + groups.length, 30_000, 'subscribed');

    const expectEverywhere = async (status: string): Promise<void> => {
      const got = await Promise.all(subs.map((s) => s.next(20_000)));
      for (const e of got) expect(e.operatorStatusChanged).toMatchObject({ id: op.id, status });
    };
    await setStatus(t.admin, op.id, 'ONLINE');
    await expectEverywhere('ONLINE');
    await setStatus(t.admin, op.id, 'OFFLINE');
    await expectEverywhere('OFFLINE');

    // Logs in, goes online by itself, logs out.
    const self = t.client(await login(t.client(), op.email, op.password));
    await self.ok('mutation { setOperatorStatus(status: ONLINE) { id } }');
    await expectEverywhere('ONLINE');
    await self.ok('mutation { logout }');
    await expectEverywhere('OFFLINE');

    // Online again, then idle past autoLogoutSec along with a colleague: the sweep logs both out.
    await setStatus(t.admin, op.id, 'ONLINE');
    await expectEverywhere('ONLINE');
    await setStatus(t.admin, neighbour.id, 'ONLINE');
    await subs[0].next(); // the neighbour's ONLINE on the shared group
    clock.advance(61_000);
    const { loggedOut } = await t.app.sweeper.runOnce();
    expect(loggedOut).toBe(2);
    const statuses = await t.admin.ok<{ operators: Array<{ id: string; status: string }> }>('{ operators { id status } }');
    expect(statuses.operators.filter((o) => [op.id, neighbour.id].includes(o.id)).map((o) => o.status)).toEqual([
      'OFFLINE',
      'OFFLINE',
    ]);
    const got = await Promise.all(subs.slice(1).map((s) => s.next(20_000)));
    for (const e of got) expect(e.operatorStatusChanged).toMatchObject({ id: op.id, status: 'OFFLINE' });
    await ws.dispose();
  });

  it('a listener whose connection is killed mid-traffic catches up from the log: every event, in order, once', async () => {
    const second = await startTestApp({ db: t.db, clock });
    try {
      const g = await createGroup(t.admin);
      const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 1000 });
      await setStatus(t.admin, op.id, 'ONLINE');
      const bot2 = second.client(await apiToken(second.admin, 'INTEGRATION'));
      const N = 30;
      const dialogs = await Promise.all(Array.from({ length: N }, () => startDialog(bot2)));
      const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
      const before = t.app.services.bus.handlerCount();
      const sub = subscribe(ws, 'subscription($g: ID) { queueChanged(groupId: $g) { type sequence dialog { id } } }', {
        g: g.id,
      });
      await eventually(() => t.app.services.bus.handlerCount() > before, 10_000, 'subscribed');

      const admin = new pg.Client({ connectionString: t.db.url });
      await admin.connect();
      const traffic = (async () => {
        for (const [i, d] of dialogs.entries()) {
          await transfer(bot2, d.id, { groupId: g.id });
          if (i === 5 || i === 15) {
            // Kills every instance's listener on this database while the traffic goes on.
            await admin.query(
              `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'handover-events'`,
            );
          }
        }
      })();
      const seen = [];
      for (let i = 0; i < N; i++) seen.push((await sub.next(30_000)).queueChanged);
      await traffic;
      await admin.end();
      const first = seen[0].sequence;
      expect(seen.map((e) => e.sequence)).toEqual(seen.map((_, i) => first + i));
      expect(seen.map((e) => e.dialog.id)).toEqual(dialogs.map((d) => d.id));
      // Positive control after the outages: the next change still arrives, numbered next.
      const late = await startDialog(bot);
      await transfer(bot, late.id, { groupId: g.id });
      expect((await sub.next(20_000)).queueChanged).toMatchObject({ dialog: { id: late.id }, sequence: first + N });
      expect(sub.buffered).toEqual([]);
      await ws.dispose();
    } finally {
      await second.stop();
    }
  });
});

describe('the sequencer', () => {
  it('one process numbers the events; when it stops, another takes over and nothing is lost', async () => {
    const second = await startTestApp({ db: t.db, clock });
    try {
      await eventually(() => t.app.services.bus.isSequencer() || second.app.services.bus.isSequencer(), 10_000, 'a sequencer');
      expect(t.app.services.bus.isSequencer() && second.app.services.bus.isSequencer()).toBe(false);
      const [sequencer, other] = t.app.services.bus.isSequencer() ? [t, second] : [second, t];
      const otherBot = other.client(await apiToken(other.admin, 'INTEGRATION'));
      const d = await startDialog(otherBot);
      const ws = wsClient(other.app.server.wsUrl, ADMIN_TOKEN);
      const before = other.app.services.bus.handlerCount();
      const sub = subscribe(ws, 'subscription($d: ID!) { dialogEvents(dialogId: $d) { sequence message { text } } }', {
        d: d.id,
      });
      await eventually(() => other.app.services.bus.handlerCount() > before, 10_000, 'subscribed');
      await post(otherBot, d.id, 'one');
      expect((await sub.next(20_000)).dialogEvents).toMatchObject({ sequence: 1, message: { text: 'one' } });

      // Stopping is idempotent: afterEach and the finally below stop it again harmlessly.
      await sequencer.app.stop();
      await post(otherBot, d.id, 'two');
      expect((await sub.next(20_000)).dialogEvents).toMatchObject({ sequence: 2, message: { text: 'two' } });
      expect(other.app.services.bus.isSequencer()).toBe(true);
      await ws.dispose();
    } finally {
      await second.stop();
    }
  });
});

describe('delivery', () => {
  it('a wake-up asking for what the running read brings costs no second read; one asking for more gets it', async () => {
    /** The real log, counting the bus's reads. */
    class CountedLog extends EventLog {
      reads = 0;
      override readAfter(...args: Parameters<EventLog['readAfter']>): ReturnType<EventLog['readAfter']> {
        this.reads++;
        return super.readAfter(...args);
      }
    }
    const log = new CountedLog(clock);
    const d = await startDialog(bot);
    await t.settled();
    const head = t.app.services.bus.position();
    // Not started: no listener or sequencer of its own, so only the calls below make it read.
    const bus = new LogEventBus(t.db.url, t.app.orm.em, log, () => undefined);
    bus.catchUp(head);
    bus.catchUp(head); // the sequencer's call and its own NOTIFY, while the first read runs
    await eventually(() => bus.position() === head, 10_000, 'delivered up to the head');

    await post(bot, d.id, 'more');
    await t.settled();
    const next = t.app.services.bus.position();
    expect(next).toBeGreaterThan(head);
    bus.catchUp(head); // already delivered
    bus.catchUp(next);
    await eventually(() => bus.position() === next, 10_000, 'delivered up to the new head');
    await bus.stop();
    expect(log.reads).toBe(2);
  });

  it("a stream's map that throws instead of returning its promise fails that stream; the next one still gets the event", async () => {
    const g = await createGroup(t.admin);
    const { bus } = t.app.services;
    const topic = topics.groupQueue(g.id);
    const failing = stream<never>(bus, [topic], () => {
      throw new Error('map failed');
    });
    const working = stream(bus, [topic], (delivery) => Promise.resolve(delivery.sequence));
    // Both idle when the event comes: each maps it at once. The rejection is expected before the
    // event is made: it may come before the transfer's answer, and unhandled until then.
    const failed = expect(failing.next()).rejects.toThrow('map failed');
    const delivered = working.next();
    await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    await failed;
    expect(await delivered).toEqual({ done: false, value: 1 });
    await failing.return?.();
    await working.return?.();
  });

  it('a stream nobody reads keeps its newest deliveries, up to its bound; the sequences show the gap', async () => {
    const d = await startDialog(bot);
    await settled();
    const { bus, events } = t.app.services;
    const topic = topics.dialog(d.id);
    const unread = stream(bus, [topic], (delivery) => Promise.resolve(delivery.sequence));
    const publishAll = (count: number): Promise<void> =>
      inTransaction(t.app.orm.em.fork(), async (tx) => {
        for (let i = 0; i < count; i++)
          await events.publish(tx, {
            kind: 'dialog',
            type: DialogEventType.STATUS_CHANGED,
            dialogId: d.id,
            messageId: null,
            status: DialogStatus.BOT,
          });
      });
    const latest = async (): Promise<number> => {
      const [row] = await t.app.orm.em
        .fork()
        .execute<Array<{ seq: string }>>('select seq from event_topics where topic = ?', [topic]);
      return Number(row.seq);
    };
    await publishAll(MAX_BUFFERED + 50);
    await settled();
    const head = await bus.log.head(t.app.orm.em.fork());
    await eventually(() => bus.position() === head, 10_000, 'all delivered to the stream');

    const last = await latest();
    const kept: number[] = [];
    for (let i = 0; i < MAX_BUFFERED; i++) {
      const step = await unread.next();
      if (step.done) throw new Error('the stream ended');
      kept.push(step.value);
    }
    // The oldest 50 (and those before them) were dropped; the rest came in order, without a gap.
    expect(kept[0]).toBe(last - MAX_BUFFERED + 1);
    expect(kept.every((seq, i) => i === 0 || seq === kept[i - 1] + 1)).toBe(true);
    // Nothing older was left queued: the next delivery is the next event.
    const following = unread.next();
    await publishAll(1);
    expect(await following).toEqual({ done: false, value: last + 1 });
    await unread.return?.();
  });
});

describe('a decision', () => {
  it("writes its events in its own statement, naming the group it moved the dialog to, after the transaction's earlier events", async () => {
    const [a, b] = [await createGroup(t.admin), await createGroup(t.admin)];
    const d = await startDialog(bot);
    await transfer(bot, d.id, { groupId: a.id });
    const appends = t.watchStatements(/append_events/);
    await transfer(bot, d.id, { groupId: b.id });
    // One statement wrote the decision and its events: no append of its own at commit.
    expect(appends()).toBe(1);
    await settled();
    const rows = await t.app.orm.em
      .fork()
      .execute<Array<{ type: string; group_id: string | null }>>(
        'select type, group_id from event_log where dialog_id = ? order by id',
        [d.id],
      );
    expect(rows.map((r) => [r.type, r.group_id])).toEqual([
      ['DIALOG_STARTED', null],
      ['DIALOG_QUEUED', a.id],
      ['dialog_status_changed', a.id],
      ['DIALOG_QUEUED', b.id],
      ['dialog_status_changed', b.id],
    ]);
  });
});

describe('resume', () => {
  it('events(after:) and the subscription resume exactly where the reader left off, across instances, in commit order', async () => {
    const second = await startTestApp({ db: t.db, clock });
    try {
      const bots = [bot, second.client(await apiToken(second.admin, 'INTEGRATION'))];
      const writers = await Promise.all(Array.from({ length: 16 }, (_, i) => startDialog(bots[i % 2])));
      const start = await cursorNow();
      // 50 events the reader sees before going away.
      for (let i = 0; i < 50; i++) await post(bots[i % 2], writers[i % 16].id, `before ${i}`);
      const firstFifty = await readAll(t.admin, start);
      expect(firstFifty).toHaveLength(50);
      const resumeAt = firstFifty.at(-1)!.cursor;

      // 100 more from 16 concurrent writers on two instances.
      const written = new Map<string, string[]>();
      await Promise.all(
        writers.map(async (d, w) => {
          const ids: string[] = [];
          // 4 × 7 + 12 × 6 = 100
          for (let i = 0; i < (w < 4 ? 7 : 6); i++) {
            ids.push(await post(bots[w % 2], d.id, `w${w} #${i}`));
          }
          written.set(d.id, ids);
        }),
      );
      const all = [...written.values()].flat();
      expect(all).toHaveLength(100);

      const resumed = await readAll(second.client(ADMIN_TOKEN), resumeAt);
      expect(resumed.map((e) => e.message.id).sort()).toEqual([...all].sort());
      const positions = resumed.map((e) => Number(e.cursor));
      expect(positions).toEqual(positions.map((_, i) => Number(resumeAt) + 1 + i));
      // Each writer's messages appear in the order that writer committed them.
      for (const [dialogId, ids] of written) {
        expect(resumed.filter((e) => e.dialog.id === dialogId).map((e) => e.message.id)).toEqual(ids);
      }

      // The same through the subscription, on the other instance, then live.
      const ws = wsClient(second.app.server.wsUrl, ADMIN_TOKEN);
      const sub = subscribe(ws, EVENT_STREAM, { after: resumeAt });
      const streamed = [];
      for (let i = 0; i < 100; i++) streamed.push((await sub.next(20_000)).events);
      expect(streamed.map((e) => e.cursor)).toEqual(resumed.map((e) => e.cursor));
      const live = await post(bot, writers[0].id, 'live');
      expect((await sub.next(20_000)).events).toMatchObject({ type: 'MESSAGE_POSTED', message: { id: live } });
      expect(sub.buffered).toEqual([]);
      await ws.dispose();
    } finally {
      await second.stop();
    }
  });

  it('queueChanged, myDialogs and dialogEvents resume after the sequence read beside the data', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 50 });
    await setStatus(t.admin, op.id, 'ONLINE');
    const opClient = t.client(await login(t.client(), op.email, op.password));
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    await settled();
    const read = await opClient.ok(
      `query($g: ID!, $d: ID!, $o: ID!) {
        queueStats(groupId: $g) { sequence }
        dialog(id: $d) { eventSequence }
        operator(id: $o) { dialogsSequence }
      }`,
      { g: g.id, d: d.id, o: op.id },
    );
    const { sequence } = read.queueStats;
    const { eventSequence } = read.dialog;
    const { dialogsSequence } = read.operator;
    expect([sequence, eventSequence, dialogsSequence].every((n: number) => n >= 1)).toBe(true);

    // Missed while away: two more assignments and a message.
    const d2 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const d3 = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    await post(bot, d.id, 'missed');

    const ws = wsClient(t.app.server.wsUrl, await login(t.client(), op.email, op.password));
    const queue = subscribe(
      ws,
      'subscription($g: ID, $a: Int) { queueChanged(groupId: $g, after: $a) { sequence dialog { id } } }',
      {
        g: g.id,
        a: sequence,
      },
    );
    const mine = subscribe(ws, 'subscription($a: Int) { myDialogs(after: $a) { type sequence dialog { id } } }', {
      a: dialogsSequence,
    });
    const events = subscribe(
      ws,
      'subscription($d: ID!, $a: Int) { dialogEvents(dialogId: $d, after: $a) { type sequence message { text } } }',
      {
        d: d.id,
        a: eventSequence,
      },
    );
    for (const [sub, field] of [
      [queue, 'queueChanged'],
      [mine, 'myDialogs'],
    ] as const) {
      const got = [(await sub.next(20_000))[field], (await sub.next(20_000))[field]];
      expect(got.map((e) => e.dialog.id)).toEqual([d2.id, d3.id]);
      expect(got.map((e) => e.sequence)).toEqual([
        (field === 'queueChanged' ? sequence : dialogsSequence) + 1,
        (field === 'queueChanged' ? sequence : dialogsSequence) + 2,
      ]);
    }
    expect((await events.next(20_000)).dialogEvents).toMatchObject({
      type: 'MESSAGE',
      sequence: eventSequence + 1,
      message: { text: 'missed' },
    });
    // The operator's stream carries the message in their dialog too.
    expect((await mine.next(20_000)).myDialogs).toMatchObject({
      type: 'MESSAGE',
      dialog: { id: d.id },
      sequence: dialogsSequence + 3,
    });

    // Then live, with no repeat of what was replayed.
    await closeDialog(opClient, d.id);
    expect((await queue.next(20_000)).queueChanged).toMatchObject({ dialog: { id: d.id }, sequence: sequence + 3 });
    expect((await mine.next(20_000)).myDialogs).toMatchObject({
      type: 'CLOSED',
      dialog: { id: d.id },
      sequence: dialogsSequence + 4,
    });
    expect((await events.next(20_000)).dialogEvents).toMatchObject({ type: 'STATUS_CHANGED', sequence: eventSequence + 2 });
    await ws.dispose();
  });

  it('dialogEvents completes after the CLOSED change, also when replaying a closed dialog', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    await setStatus(t.admin, op.id, 'ONLINE');
    const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const completed = (variables: Record<string, unknown>): { done: Promise<GraphqlData[]> } => {
      const seen: GraphqlData[] = [];
      return {
        done: new Promise((resolve, reject) => {
          ws.subscribe(
            {
              query:
                'subscription($d: ID!, $a: Int) { dialogEvents(dialogId: $d, after: $a) { type sequence dialog { status } } }',
              variables,
            },
            { next: (r) => seen.push(r.data!), error: reject, complete: () => resolve(seen) },
          );
        }),
      };
    };
    const before = t.app.services.bus.handlerCount();
    const live = completed({ d: d.id });
    await eventually(() => t.app.services.bus.handlerCount() > before, 10_000, 'subscribed');
    await post(bot, d.id, 'bye');
    await closeDialog(t.admin, d.id);
    const got = await live.done;
    expect(got.map((e) => e.dialogEvents.type)).toEqual(['MESSAGE', 'STATUS_CHANGED']);
    expect(got.at(-1)!.dialogEvents.dialog.status).toBe('CLOSED');

    const replayed = await completed({ d: d.id, a: 0 }).done;
    expect(replayed.at(-1)!.dialogEvents).toMatchObject({ type: 'STATUS_CHANGED', dialog: { status: 'CLOSED' } });
    expect(replayed.map((e) => e.dialogEvents.sequence)).toEqual(replayed.map((_, i) => i + 1));
    // Without after, a closed dialog's stream ends at once.
    expect(await completed({ d: d.id }).done).toEqual([]);
    await ws.dispose();
  });
});

describe('visibility', () => {
  it("an operator reads the events of dialogs they may see and their groups' status changes; integrations read all", async () => {
    const [mineGroup, otherGroup] = [await createGroup(t.admin), await createGroup(t.admin)];
    const op = await createOperator(t.admin, { groupIds: [mineGroup.id] });
    const stranger = await createOperator(t.admin, { groupIds: [otherGroup.id] });
    const start = await cursorNow();
    await setStatus(t.admin, op.id, 'ONLINE');
    await setStatus(t.admin, stranger.id, 'ONLINE');
    const seen = await transfer(bot, (await startDialog(bot)).id, { groupId: mineGroup.id });
    const hidden = await transfer(bot, (await startDialog(bot)).id, { groupId: otherGroup.id });
    const opClient = t.client(await login(t.client(), op.email, op.password));

    const asOperator = await readAll(opClient, start);
    expect(asOperator.map((e) => e.type)).toEqual(['OPERATOR_STATUS_CHANGED', 'DIALOG_STARTED', 'DIALOG_ASSIGNED']);
    expect(asOperator.every((e) => e.dialog === null || e.dialog.id === seen.id)).toBe(true);
    expect(asOperator[0].operator.id).toBe(op.id);

    const asBot = await readAll(bot, start);
    expect(asBot.filter((e) => e.dialog?.id === hidden.id).map((e) => e.type)).toEqual(['DIALOG_STARTED', 'DIALOG_ASSIGNED']);
    expect(asBot.filter((e) => e.type === 'OPERATOR_STATUS_CHANGED')).toHaveLength(2);

    // The same rule on the live stream: the hidden dialog's message is skipped, the next visible one arrives.
    const ws = wsClient(t.app.server.wsUrl, await login(t.client(), op.email, op.password));
    const before = t.app.services.bus.handlerCount();
    const sub = subscribe(ws, EVENT_STREAM, {});
    await eventually(() => t.app.services.bus.handlerCount() > before, 10_000, 'subscribed');
    await post(bot, hidden.id, 'not for you');
    const visible = await post(bot, seen.id, 'for you');
    expect((await sub.next(20_000)).events).toMatchObject({ type: 'MESSAGE_POSTED', message: { id: visible } });
    expect(sub.buffered).toEqual([]);
    await ws.dispose();
  });
});

describe('retention', () => {
  it('events past EVENT_RETENTION_DAYS are pruned: resuming before them answers EVENTS_EXPIRED; idempotency keys expire after 24 h', async () => {
    const g = await createGroup(t.admin);
    const start = await cursorNow();
    const key = 'start-once';
    const startOnce = `mutation($k: String) { startDialog(input: {}, idempotencyKey: $k) { id } }`;
    const first = (await bot.ok(startOnce, { k: key })).startDialog.id;
    expect((await bot.ok(startOnce, { k: key })).startDialog.id).toBe(first);
    const d = await transfer(bot, first, { groupId: g.id });
    await settled();
    const stats = await t.admin.ok('query($g: ID!) { queueStats(groupId: $g) { sequence } }', { g: g.id });

    clock.advance(8 * 86_400_000);
    const { eventsPruned } = await t.app.sweeper.runOnce();
    expect(eventsPruned).toBeGreaterThanOrEqual(2);
    // The key is forgotten: the same key starts a new dialog.
    const second = (await bot.ok(startOnce, { k: key })).startDialog.id;
    expect(second).not.toBe(first);

    await t.admin.fails(EVENTS_PAGE, { after: start }, 'EVENTS_EXPIRED');
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const expired = subscribe(ws, 'subscription($g: ID, $a: Int) { queueChanged(groupId: $g, after: $a) { sequence } }', {
      g: g.id,
      a: stats.queueStats.sequence - 1,
    });
    await expect(expired.next(10_000)).rejects.toThrow(/EVENTS_EXPIRED/);
    const ahead = subscribe(ws, 'subscription($g: ID, $a: Int) { queueChanged(groupId: $g, after: $a) { sequence } }', {
      g: g.id,
      a: stats.queueStats.sequence + 5,
    });
    await expect(ahead.next(10_000)).rejects.toThrow(/BAD_USER_INPUT/);
    // From what is kept (the cursor now), reading works and sees the newer dialog.
    expect(d.id).toBe(first);
    const now = await cursorNow();
    await post(bot, second, 'after the prune');
    expect((await readAll(t.admin, now)).map((e) => e.type)).toEqual(['MESSAGE_POSTED']);
    await ws.dispose();
  });
});
