import type { EntityManager } from '@mikro-orm/postgresql';
import { initOrm } from '../src/db/orm.js';
import { queueFigures, requiredAgents } from '../src/sl/erlang-c.js';
import { liveFigures } from '../src/sl/live-figures.js';
import { ADMIN_TOKEN, type ServerChild } from './lib/env.js';
import { gql } from './lib/http.js';
import type { BenchResult, Figures } from './lib/results.js';
import { seedGroups, seedOperators, withDb } from './lib/seed.js';
import { percentile, round } from './lib/stats.js';

const STATS = `query($g: ID) { queueStats(groupId: $g) { queued longestWaitSec onlineOperators freeCapacity
  slPercentLast15m arrivalsLastHour avgHandleTimeSec } }`;
// The indexes that keep the live figures off the history (see the sl_analytics migration).
const WINDOW_INDEXES = [
  'sl_responses_decided_idx',
  'sl_responses_group_decided_idx',
  'dialogs_running_clock_started_idx',
  'dialogs_closed_idx',
  'dialogs_group_closed_idx',
];

/**
 * History as it accumulates: `closed` dialogs closed evenly over 30 days (about 280 an hour
 * at 200,000), each handled 290 s and answered within 0..89 s of a 60 s target, plus 500
 * running clocks in the Help queue.
 */
async function seedHistory(databaseUrl: string, closed: number): Promise<string> {
  return withDb(databaseUrl, async (db) => {
    const [group] = await seedGroups(db, 1, 'live-');
    const operators = await seedOperators(db, 20, [group], 300, 'live');
    await db.query(
      `insert into dialogs (id, status, group_id, operator_id, created_at, handed_over_at, assigned_at, closed_at)
       select gen_random_uuid(), 'CLOSED', $1, ($2::uuid[])[1 + i % $3], at - interval '300 s', at - interval '300 s', at - interval '290 s', at
         from generate_series(1, $4) i, lateral (select now() - (i * interval '30 days') / $4 as at) t`,
      [group, operators, operators.length, closed],
    );
    await db.query(
      `insert into sl_responses (id, dialog_id, kind, group_id, operator_id, started_at, deadline, answered_at, met)
       select gen_random_uuid(), id, 'FIRST_RESPONSE', group_id, operator_id, handed_over_at, handed_over_at + interval '60 s',
              handed_over_at + make_interval(secs => w), w <= 60
         from dialogs, lateral (select abs(hashtext(id::text)) % 90 as w) x
        where status = 'CLOSED'`,
    );
    await db.query(
      `insert into dialogs (id, status, group_id, created_at, handed_over_at, queued_at, sl_kind, sl_started_at, sl_deadline, sl_group_id)
       select gen_random_uuid(), 'QUEUED', $1, now(), now(), now() - (i || ' ms')::interval, 'FIRST_RESPONSE', now() - (i || ' s')::interval,
              now() - (i || ' s')::interval + interval '60 s', $1
         from generate_series(1, 500) i`,
      [group],
    );
    await db.query('analyze');
    return group;
  });
}

async function timeStats(server: ServerChild, groupId: string | null, requests: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 20; i++) await gql(server.url, ADMIN_TOKEN, STATS, { g: groupId }); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await gql(server.url, ADMIN_TOKEN, STATS, { g: groupId });
    ms.push(performance.now() - t0);
  }
  return { p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)) };
}

/** The statement the live figures add to each event, alone (no HTTP, no server in between). */
async function timeStatement(em: EntityManager, groupId: string | null, requests: number): Promise<number> {
  for (let i = 0; i < 20; i++) await liveFigures(em.fork(), groupId, new Date());
  const ms: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await liveFigures(em.fork(), groupId, new Date());
    ms.push(performance.now() - t0);
  }
  return round(percentile(ms, 50), 3);
}

/**
 * queueStats is what every queueChanged event computes (once per event and stream), so its
 * latency is the cost per event. Measured with the history seeded, then once more with the
 * window indexes dropped: what reading the figures by scanning history would cost.
 */
export async function liveStatsBench(
  server: ServerChild,
  databaseUrl: string,
  closed: number,
  requests: number,
): Promise<BenchResult> {
  const groupId = await seedHistory(databaseUrl, closed);
  const figures: Figures = {};
  const orm = await initOrm({ databaseUrl, poolSize: 1 });
  const em = orm.em;
  const sample = await gql<{ queueStats: Record<string, unknown> }>(server.url, ADMIN_TOKEN, STATS, { g: groupId });
  figures['group: arrivals last hour'] = sample.queueStats['arrivalsLastHour'] as number;
  for (const [label, g] of [
    ['group', groupId],
    ['server-wide', null],
  ] as const) {
    const { p50, p99 } = await timeStats(server, g, requests);
    Object.assign(figures, {
      [`${label} queueStats p50 ms`]: p50,
      [`${label} queueStats p99 ms`]: p99,
      [`${label} live-figures statement p50 ms`]: await timeStatement(em, g, requests),
    });
  }
  await withDb(databaseUrl, async (db) => {
    for (const index of WINDOW_INDEXES) await db.query(`drop index "${index}"`);
    await db.query('analyze');
  });
  for (const [label, g] of [
    ['group', groupId],
    ['server-wide', null],
  ] as const) {
    const { p50 } = await timeStats(server, g, requests);
    figures[`${label} queueStats p50 ms without window indexes`] = p50;
    figures[`${label} live-figures statement p50 ms without window indexes`] = await timeStatement(em, g, Math.min(requests, 50));
  }
  await orm.close(true);
  return {
    name: 'live queue figures',
    parameters: { closedDialogs: closed, spreadDays: 30, runningClocks: 500, requests },
    figures,
    targets: {
      'live-figures statement':
        'flat in the history size (index range scans over the windows); far below the figure without window indexes',
    },
    notes:
      'sequential queueStats over HTTP (one per queueChanged event and stream); the server process is shared with earlier benchmarks',
  };
}

/** The Erlang C model at contact-centre scale: pure CPU, microseconds per call. */
export function erlangBench(): BenchResult {
  const arrivalsPerHour = 50_000;
  const handleSec = 120;
  const traffic = (arrivalsPerHour * handleSec) / 3600; // 1,666.7 erlangs
  const time = (runs: number, work: () => unknown): number => {
    for (let i = 0; i < 200; i++) work();
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) work();
    return ((performance.now() - t0) / runs) * 1000;
  };
  const required = requiredAgents(traffic, handleSec, 20, 0.8);
  return {
    name: 'erlang c',
    parameters: { arrivalsPerHour, handleSec, targetSec: 20, targetPercent: 80 },
    figures: {
      'required operators': required.agents,
      'SL at 2,000 operators µs': round(
        time(5000, () => queueFigures(2000, traffic, handleSec, 20)),
        1,
      ),
      'required operators search µs': round(
        time(5000, () => requiredAgents(traffic, handleSec, 20, 0.8)),
        1,
      ),
    },
    targets: { 'per call': '< 1000 µs' },
  };
}
