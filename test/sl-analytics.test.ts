import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { apiToken, createGroup, createOperator, login } from './helpers/factories.js';
import { closeDialog, getDialog, startDialog, transfer } from './helpers/dialogs.js';
import type { GraphqlClient } from './helpers/gql.js';
import { eventually } from './helpers/eventually.js';
import { assertInvariants } from './helpers/invariants.js';
import { subscribe, wsClient } from './helpers/ws.js';

const T0 = Date.parse('2026-06-01T09:00:00.000Z');
const SEC = 1000;
let t: TestApp;
let clock: ManualClock;
let bot: GraphqlClient;
let supervisor: GraphqlClient;

beforeEach(async () => {
  clock = new ManualClock(new Date(T0));
  // The sweep is not needed: reports and live figures read deadlines, not breach marks.
  t = await startTestApp({
    clock,
    config: { slDefaultFirstResponseSec: 45, slDefaultNextResponseSec: 90, sweepIntervalMs: 60_000 },
  });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
  supervisor = t.client(await apiToken(t.admin, 'SUPERVISOR'));
});
afterEach(async () => {
  await assertInvariants(t.db.url);
  await t.stop();
});

const at = (ms: number): void => clock.set(new Date(T0 + ms));
const iso = (ms: number): string => new Date(T0 + ms).toISOString();

async function onlineOperator(groupIds: string[], maxDialogs?: number): Promise<{ id: string; client: GraphqlClient }> {
  const op = await createOperator(t.admin, { groupIds, maxDialogs });
  const client = t.client(await login(t.client(), op.email, op.password));
  await client.ok(`mutation { setOperatorStatus(status: ONLINE) { id } }`);
  return { id: op.id, client };
}

const reply = (c: GraphqlClient, id: string): Promise<unknown> =>
  c.ok(`mutation($id: ID!) { sendMessage(dialogId: $id, text: "on it") { id } }`, { id });
const clientSays = (id: string): Promise<unknown> =>
  bot.ok(`mutation($id: ID!) { postClientMessage(dialogId: $id, text: "hello?") { id } }`, { id });
const handOver = async (groupId: string): Promise<string> => (await transfer(bot, (await startDialog(bot)).id, { groupId })).id;

describe('which reply stops an SL clock', () => {
  it("only the assigned operator's: staff replies in Help or in an assigned dialog leave the clock and the deadline alone", async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 30, slNextResponseSec: 60 });
    const d = await handOver(g.id); // nobody online: Help
    const deadline = iso(30 * SEC);
    expect((await getDialog(t.admin, d)).slTimer).toMatchObject({ kind: 'FIRST_RESPONSE', deadline });

    at(5 * SEC);
    await reply(supervisor, d);
    let view = await getDialog(t.admin, d);
    expect(view).toMatchObject({ status: 'QUEUED', firstResponseAt: null, slTimer: { kind: 'FIRST_RESPONSE', deadline } });
    // It keeps its place: the Help queue still orders it by that deadline, ahead of a later one.
    const later = await handOver(g.id);
    const { helpQueue } = await t.admin.ok(`{ helpQueue { id slTimer { deadline } } }`);
    expect(helpQueue).toEqual([
      { id: d, slTimer: { deadline } },
      { id: later, slTimer: { deadline: iso(35 * SEC) } },
    ]);

    at(10 * SEC);
    const a = await onlineOperator([g.id]); // drains both
    expect((await getDialog(t.admin, d)).operator).toEqual({ id: a.id });
    at(12 * SEC);
    await reply(t.admin, d); // ADMIN token: staff, not the assignee
    expect((await getDialog(t.admin, d)).slTimer).toMatchObject({ kind: 'FIRST_RESPONSE', deadline });
    at(20 * SEC);
    await reply(a.client, d);
    view = await getDialog(t.admin, d);
    expect(view).toMatchObject({ firstResponseAt: iso(20 * SEC), slTimer: null });

    // Subsequent responses follow the same rule.
    at(25 * SEC);
    await clientSays(d);
    at(30 * SEC);
    await reply(supervisor, d);
    expect((await getDialog(t.admin, d)).slTimer).toMatchObject({ kind: 'NEXT_RESPONSE', startedAt: iso(25 * SEC) });
    at(40 * SEC);
    await reply(a.client, d);
    expect((await getDialog(t.admin, d)).slTimer).toBeNull();

    const { slReport } = await t.admin.ok(
      `query($g: ID, $from: DateTime!, $to: DateTime!) { slReport(groupId: $g, from: $from, to: $to) {
         sessions firstResponsesWithinSl avgFirstResponseSec nextResponses avgNextResponseSec } }`,
      { g: g.id, from: iso(0), to: iso(41 * SEC) },
    );
    // d: 20 s and 15 s, both answered by a; `later` is still running (undecided).
    expect(slReport).toEqual({
      sessions: 2,
      firstResponsesWithinSl: 1,
      avgFirstResponseSec: 20,
      nextResponses: 1,
      avgNextResponseSec: 15,
    });
  });
});

const REPORT = `query($g: ID, $o: ID, $from: DateTime!, $to: DateTime!) {
  slReport(groupId: $g, operatorId: $o, from: $from, to: $to) {
    sessions firstResponsesWithinSl firstResponseSlPercent nextResponses nextResponsesWithinSl
    avgFirstResponseSec avgNextResponseSec p90FirstResponseSec abandoned } }`;

describe('SL report: subsequent-response average, first-response p90, abandoned', () => {
  it('from a hand-made timeline, with the boundaries', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    const a = await onlineOperator([g.id]);

    // d1 (starts 0): first reply at 20 s (met); client at 30 s, reply at 40 s (next 10 s, met)
    const d1 = await handOver(g.id);
    at(20 * SEC);
    await reply(a.client, d1);
    at(30 * SEC);
    await clientSays(d1);
    at(40 * SEC);
    await reply(a.client, d1);
    // d2 (starts 100 s): first reply at 200 s (100 s, missed); client at 210 s, reply at 255 s (45 s, missed)
    at(100 * SEC);
    const d2 = await handOver(g.id);
    at(200 * SEC);
    await reply(a.client, d2);
    at(210 * SEC);
    await clientSays(d2);
    at(255 * SEC);
    await reply(a.client, d2);
    // d3 (starts 300 s): reply exactly at the deadline, 60 s (met)
    at(300 * SEC);
    const d3 = await handOver(g.id);
    at(360 * SEC);
    await reply(a.client, d3);
    // d4 (starts 400 s): closed at 470 s unanswered (abandoned, missed)
    at(400 * SEC);
    const d4 = await handOver(g.id);
    at(470 * SEC);
    await closeDialog(bot, d4);
    // d5 (starts 500 s): closed at 510 s unanswered (abandoned, undecided: the client left in time)
    at(500 * SEC);
    const d5 = await handOver(g.id);
    at(510 * SEC);
    await closeDialog(bot, d5);
    // d6 (starts 600 s): first reply at 630 s (30 s, met)
    at(600 * SEC);
    const d6 = await handOver(g.id);
    at(630 * SEC);
    await reply(a.client, d6);
    // Closed while still with the bot: it never waited for an operator, so it is not abandoned.
    await closeDialog(bot, (await startDialog(bot)).id);

    const from = iso(0);
    const to = iso(631 * SEC);
    const expected = {
      sessions: 6,
      firstResponsesWithinSl: 3, // d1, d3, d6
      firstResponseSlPercent: 60, // of 5 decided (d5 is not)
      nextResponses: 2,
      nextResponsesWithinSl: 1,
      avgFirstResponseSec: 52.5, // (20 + 100 + 60 + 30) / 4
      avgNextResponseSec: 27.5, // (10 + 45) / 2
      // sorted 20, 30, 60, 100: rank (4 − 1) × 0.9 = 2.7 → 60 + 0.7 × (100 − 60)
      p90FirstResponseSec: 88,
      abandoned: 2, // d4, d5
    };
    expect((await t.admin.ok(REPORT, { g: g.id, from, to })).slReport).toEqual(expected);
    // By operator: a held every dialog, including the two abandoned ones.
    expect((await a.client.ok(REPORT, { o: a.id, from, to })).slReport).toEqual(expected);

    // Abandoned counts by close time, [from, to): d4 closed at 470 s exactly.
    const closedBy = async (toMs: number, fromMs = 0): Promise<number> =>
      (await t.admin.ok(REPORT, { g: g.id, from: iso(fromMs), to: iso(toMs) })).slReport.abandoned;
    expect(await closedBy(470 * SEC)).toBe(0);
    expect(await closedBy(470 * SEC + 1)).toBe(1);
    // d4 started before the period but closed in it: still abandoned in it.
    expect(await closedBy(600 * SEC, 450 * SEC)).toBe(2);

    // p90 of a single answer is that answer; the reply exactly at the deadline met it.
    const d3Only = (await t.admin.ok(REPORT, { g: g.id, from: iso(300 * SEC), to: iso(301 * SEC) })).slReport;
    expect(d3Only).toMatchObject({
      sessions: 1,
      firstResponsesWithinSl: 1,
      firstResponseSlPercent: 100,
      p90FirstResponseSec: 60,
      avgNextResponseSec: null,
    });

    const empty = (await t.admin.ok(REPORT, { g: g.id, from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' })).slReport;
    expect(empty).toEqual({
      sessions: 0,
      firstResponsesWithinSl: 0,
      firstResponseSlPercent: null,
      nextResponses: 0,
      nextResponsesWithinSl: 0,
      avgFirstResponseSec: null,
      avgNextResponseSec: null,
      p90FirstResponseSec: null,
      abandoned: 0,
    });
  });
});

const STATS = `query($g: ID) { queueStats(groupId: $g) { slPercentLast15m arrivalsLastHour avgHandleTimeSec } }`;
const stats = async (
  groupId: string | null,
): Promise<{ slPercentLast15m: number | null; arrivalsLastHour: number; avgHandleTimeSec: number | null }> =>
  (await t.admin.ok(STATS, { g: groupId })).queueStats;

describe('live figures in QueueStats', () => {
  it('are read only when asked for: one statement for all three, none without them', async () => {
    const g = await createGroup(t.admin);
    const windows = t.watchStatements(/with decided as/);
    await t.admin.ok(`query($g: ID) { queueStats(groupId: $g) { queued freeCapacity } }`, { g: g.id });
    expect(windows()).toBe(0);
    expect(await stats(g.id)).toEqual({ slPercentLast15m: null, arrivalsLastHour: 0, avgHandleTimeSec: null });
    expect(windows()).toBe(1);
  });

  it('the SL share of the last 15 minutes, arrivals and mean handle time of the last hour, at their window edges', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    const other = await createGroup(t.admin, { slFirstResponseSec: 600, slNextResponseSec: 30 });
    const a = await onlineOperator([g.id, other.id]);
    expect(await stats(g.id)).toEqual({ slPercentLast15m: null, arrivalsLastHour: 0, avgHandleTimeSec: null });

    const d1 = await handOver(g.id); // 0 s, assigned at 0 s
    at(20 * SEC);
    await reply(a.client, d1); // met, decided at 20 s
    at(300 * SEC);
    await closeDialog(a.client, d1); // handled 300 s
    const d2 = await handOver(g.id); // 300 s, deadline 360 s
    const left = await handOver(g.id); // 300 s; the client leaves at 310 s: decides nothing
    at(310 * SEC);
    await closeDialog(bot, left); // handled 10 s
    await handOver(other.id); // another group's arrival

    at(360 * SEC); // d2 exactly at its deadline: not yet decided
    expect(await stats(g.id)).toEqual({ slPercentLast15m: 100, arrivalsLastHour: 3, avgHandleTimeSec: 155 });
    at(360 * SEC + 1); // now overdue: missed
    expect((await stats(g.id)).slPercentLast15m).toBe(50);
    at(400 * SEC);
    await closeDialog(a.client, d2); // closed after its deadline: stays missed, decided at 360 s; handled 100 s
    expect(await stats(g.id)).toEqual({ slPercentLast15m: 50, arrivalsLastHour: 3, avgHandleTimeSec: 136.667 }); // (300 + 10 + 100) / 3
    // Without a group: the whole server (the other group's clock runs until 910 s).
    expect(await stats(null)).toEqual({ slPercentLast15m: 50, arrivalsLastHour: 4, avgHandleTimeSec: 136.667 });

    at(920 * SEC); // 15 min after d1's answer: out of the window, which is (now − 15 min, now]
    expect((await stats(g.id)).slPercentLast15m).toBe(0);
    at(1260 * SEC); // 15 min after d2's deadline
    expect((await stats(g.id)).slPercentLast15m).toBeNull();

    at(3600 * SEC); // d1 arrived exactly an hour ago: out; it closed at 300 s: still in
    expect(await stats(g.id)).toEqual({ slPercentLast15m: null, arrivalsLastHour: 2, avgHandleTimeSec: 136.667 });
    at(3900 * SEC); // d2 and `left` arrived, d1 closed, an hour ago
    expect(await stats(g.id)).toEqual({ slPercentLast15m: null, arrivalsLastHour: 0, avgHandleTimeSec: 55 }); // (10 + 100) / 2
    at(4000 * SEC);
    expect(await stats(g.id)).toEqual({ slPercentLast15m: null, arrivalsLastHour: 0, avgHandleTimeSec: null });
  });

  it('every queueChanged event carries them', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60, slNextResponseSec: 30 });
    const a = await onlineOperator([g.id]);
    const d1 = await handOver(g.id);
    at(30 * SEC);
    await reply(a.client, d1);
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    try {
      const base = t.app.services.bus.handlerCount();
      const sub = subscribe(
        ws,
        `subscription($g: ID) { queueChanged(groupId: $g) { type dialog { id }
        stats { slPercentLast15m arrivalsLastHour avgHandleTimeSec } } }`,
        { g: g.id },
      );
      await eventually(() => t.app.services.bus.handlerCount() > base, 30_000, 'subscription registered');
      const d2 = await handOver(g.id);
      const first = (await sub.next()).queueChanged;
      expect(first).toEqual({
        type: 'ASSIGNED',
        dialog: { id: d2 },
        stats: { slPercentLast15m: 100, arrivalsLastHour: 2, avgHandleTimeSec: null },
      });
      at(90 * SEC);
      await closeDialog(a.client, d1);
      expect((await sub.next()).queueChanged).toEqual({
        type: 'CLOSED',
        dialog: { id: d1 },
        stats: { slPercentLast15m: 100, arrivalsLastHour: 2, avgHandleTimeSec: 90 },
      });
      sub.dispose();
    } finally {
      await ws.dispose();
    }
  });
});

const FORECAST = `query($input: StaffingInput!) { staffingForecast(input: $input) {
  groupId arrivalsPerHour avgHandleTimeSec concurrency targetPercent targetSec requiredOperators expectedSlPercent
  onlineOperators expectedSlPercentNow probabilityOfWaiting avgWaitSec } }`;

describe('staffingForecast', () => {
  it('the published worked example, and the SL at the staffing online now (operators × concurrency servers)', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 15 });
    await onlineOperator([g.id]);
    await onlineOperator([g.id]);
    const input = {
      groupId: g.id,
      arrivalsPerHour: 720,
      avgHandleTimeSec: 240,
      concurrency: 1,
      targetPercent: 80,
      targetSec: 15,
    };
    expect((await supervisor.ok(FORECAST, { input })).staffingForecast).toEqual({
      ...input,
      requiredOperators: 55,
      expectedSlPercent: 84.59,
      onlineOperators: 2,
      expectedSlPercentNow: 0, // 2 servers against 48 erlangs: the queue only grows
      probabilityOfWaiting: 0.2387,
      avgWaitSec: 8.184,
    });
    // Two operators handling 26.5 dialogs at once are 53 servers: 72.45 %.
    const chat = (await t.admin.ok(FORECAST, { input: { ...input, concurrency: 26.5 } })).staffingForecast;
    expect(chat).toMatchObject({ requiredOperators: 3, onlineOperators: 2, expectedSlPercentNow: 72.45 });
  });

  it("omitted inputs come from the last hour of the group's traffic, its operators' load and its target", async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 20 });
    const a = await onlineOperator([g.id]);
    const d1 = await handOver(g.id);
    at(300 * SEC);
    await closeDialog(a.client, d1); // handled 300 s
    const d2 = await handOver(g.id);
    at(400 * SEC);
    await closeDialog(a.client, d2); // handled 100 s
    await handOver(g.id); // still open: a holds one dialog
    await handOver(g.id); // and now two
    const b = await onlineOperator([g.id]); // online, holding none
    expect(b.id).toBeTruthy();

    const { staffingForecast } = await supervisor.ok(FORECAST, { input: { groupId: g.id } });
    // λ = 4 per hour, h = 200 s, c = 2 (a's load; b holds none), A = 4 × 200 / 3600 = 2/9 erlang.
    // 1 operator = 2 servers: C(2, A) = A² / (A² + (2 − A)(1 + A)) = 1/45 (the M/M/2 closed form)
    const A = (4 * 200) / 3600;
    const c2 = (A * A) / (A * A + (2 - A) * (1 + A));
    expect(c2).toBeCloseTo(1 / 45, 12);
    const sl1 = 1 - c2 * Math.exp((-(2 - A) * 20) / 200);
    const round = (v: number, p: number): number => Math.round(v * 10 ** p) / 10 ** p;
    expect(staffingForecast).toEqual({
      groupId: g.id,
      arrivalsPerHour: 4,
      avgHandleTimeSec: 200,
      concurrency: 2,
      targetPercent: 80,
      targetSec: 20,
      requiredOperators: 1,
      expectedSlPercent: round(sl1 * 100, 2),
      onlineOperators: 2,
      // 2 online × 2 = 4 servers: almost nobody waits
      expectedSlPercentNow: 99.99,
      probabilityOfWaiting: round(c2, 4),
      avgWaitSec: 2.5, // C·h / (N − A) = (1/45) × 200 / (16/9)
    });
    expect(round(sl1 * 100, 2)).toBe(98.14); // 1 − (1/45)·e^(−(16/9)·20/200)
  });

  it('edge cases: zero traffic, no measured handle time, nobody online, no group', async () => {
    const quiet = await createGroup(t.admin, { slFirstResponseSec: 30 });
    expect((await supervisor.ok(FORECAST, { input: { groupId: quiet.id } })).staffingForecast).toEqual({
      groupId: quiet.id,
      arrivalsPerHour: 0,
      avgHandleTimeSec: 0,
      concurrency: 1,
      targetPercent: 80,
      targetSec: 30,
      requiredOperators: 0,
      expectedSlPercent: 100,
      onlineOperators: 0,
      expectedSlPercentNow: null,
      probabilityOfWaiting: 0,
      avgWaitSec: 0,
    });
    // Arrivals but nothing closed yet: the handle time cannot be measured, so it must be given.
    await handOver(quiet.id); // queued: nobody is online
    await supervisor.fails(FORECAST, { input: { groupId: quiet.id } }, 'BAD_USER_INPUT', 'avgHandleTimeSec');
    const given = (await supervisor.ok(FORECAST, { input: { groupId: quiet.id, avgHandleTimeSec: 180 } })).staffingForecast;
    expect(given).toMatchObject({
      arrivalsPerHour: 1,
      avgHandleTimeSec: 180,
      requiredOperators: 1,
      onlineOperators: 0,
      expectedSlPercentNow: null,
    });
    // Without a group: the server's traffic and the server-wide default target.
    expect((await supervisor.ok(FORECAST, { input: { avgHandleTimeSec: 180 } })).staffingForecast).toMatchObject({
      groupId: null,
      arrivalsPerHour: 1,
      targetSec: 45,
    });
  });

  it('bad input answers BAD_USER_INPUT with the field (NOT_FOUND for an unknown group); only staff may ask', async () => {
    const g = await createGroup(t.admin);
    const op = await onlineOperator([g.id]);
    const ok = { groupId: g.id, arrivalsPerHour: 10, avgHandleTimeSec: 60 };
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ arrivalsPerHour: -1 }, 'arrivalsPerHour'],
      [{ arrivalsPerHour: 2_000_000 }, 'arrivalsPerHour'],
      [{ avgHandleTimeSec: 0 }, 'avgHandleTimeSec'],
      [{ avgHandleTimeSec: -5 }, 'avgHandleTimeSec'],
      [{ concurrency: 0.5 }, 'concurrency'],
      [{ targetPercent: 0 }, 'targetPercent'],
      [{ targetPercent: 100 }, 'targetPercent'],
      [{ targetPercent: -3 }, 'targetPercent'],
      // above 0, but 0 as a share (5e-324 / 100)
      [{ targetPercent: 5e-324 }, 'targetPercent'],
      [{ targetSec: -1 }, 'targetSec'],
      // 1,000,000 per hour × 86,400 s is 24 million erlangs: beyond what the model is asked for
      [{ arrivalsPerHour: 1_000_000, avgHandleTimeSec: 86_400 }, 'arrivalsPerHour'],
    ];
    for (const [change, field] of bad) await supervisor.fails(FORECAST, { input: { ...ok, ...change } }, 'BAD_USER_INPUT', field);
    await supervisor.fails(
      FORECAST,
      { input: { ...ok, groupId: '00000000-0000-4000-8000-000000000000' } },
      'NOT_FOUND',
      'groupId',
    );
    await supervisor.fails(FORECAST, { input: { ...ok, groupId: 'nope' } }, 'NOT_FOUND', 'groupId');
    await op.client.fails(FORECAST, { input: ok }, 'FORBIDDEN');
    await bot.fails(FORECAST, { input: ok }, 'FORBIDDEN');
    await t.client().fails(FORECAST, { input: ok }, 'UNAUTHENTICATED');
    expect((await supervisor.ok(FORECAST, { input: ok })).staffingForecast.requiredOperators).toBe(1);
  });
});
