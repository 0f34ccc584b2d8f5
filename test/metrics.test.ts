import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/shared/clock.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { startDialog, setStatus, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator } from './helpers/factories.js';
import type { GraphqlClient } from './helpers/gql.js';
import { hasSample, parsePrometheus, sampleSum, type PromSample } from './helpers/prometheus.js';
import { connected, subscribe, wsClient } from './helpers/ws.js';

const METRICS_TOKEN = 'metrics-token-for-the-scraper';

let t: TestApp;
let bot: GraphqlClient;
const clock = new ManualClock('2026-06-01T10:00:00.000Z');

function metricsUrl(): string {
  return new URL('/metrics', t.app.url).toString();
}

async function scrape(): Promise<PromSample[]> {
  const response = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await response.text());
}

beforeAll(async () => {
  t = await startTestApp({ clock, config: { metricsToken: METRICS_TOKEN, loginMaxFailuresPerEmail: 2 } });
  bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
});
afterAll(async () => {
  await t.stop();
});

describe('GET /metrics', () => {
  it('requires the configured bearer token', async () => {
    expect((await fetch(metricsUrl())).status).toBe(401);
    expect((await fetch(metricsUrl(), { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const ok = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    const samples = parsePrometheus(await ok.text());
    // Process metrics come from this app's own registry.
    expect(sampleSum(samples, 'handover_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts 3 transfers as 3 TRANSFER routing decisions, with their latency', async () => {
    const g = await createGroup(t.admin);
    const op = await createOperator(t.admin, { groupIds: [g.id], maxDialogs: 5 });
    await setStatus(t.admin, op.id, 'ONLINE');
    const before = await scrape();
    const transferred = { kind: 'TRANSFER', outcome: 'ASSIGNED_TO_TARGET', reason: 'none' };
    for (let i = 0; i < 3; i++) await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    const after = await scrape();
    const counted =
      sampleSum(after, 'handover_routing_decisions_total', transferred) -
      sampleSum(before, 'handover_routing_decisions_total', transferred);
    expect(counted).toBe(3);
    const observed =
      sampleSum(after, 'handover_routing_decision_duration_seconds_count', { kind: 'TRANSFER' }) -
      sampleSum(before, 'handover_routing_decision_duration_seconds_count', { kind: 'TRANSFER' });
    expect(observed).toBe(3);
    // The operations themselves, by name as the client sent none: anonymous mutations.
    expect(
      sampleSum(after, 'handover_graphql_operations_total', { transport: 'http', type: 'mutation', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(6);
  });

  it('counts a failed operation by its error code, and the reason of a fallback decision', async () => {
    const empty = await createGroup(t.admin);
    const before = await scrape();
    const result = await bot.request(
      `mutation MissingDialog($id: ID!, $to: TransferTarget!) { transferDialog(dialogId: $id, to: $to) { id } }`,
      { id: '00000000-0000-4000-8000-000000000000', to: { groupId: empty.id } },
    );
    const code = result.errors?.[0]?.extensions?.code;
    expect(code).toBe('NOT_FOUND');
    // An empty group: assigned to anyone else (the online operator above), reason group_empty.
    await transfer(bot, (await startDialog(bot)).id, { groupId: empty.id });
    const after = await scrape();
    const failed = { operation: 'MissingDialog', type: 'mutation', outcome: 'NOT_FOUND' };
    expect(
      sampleSum(after, 'handover_graphql_operations_total', failed) -
        sampleSum(before, 'handover_graphql_operations_total', failed),
    ).toBe(1);
    expect(hasSample(after, 'handover_graphql_operations_total', { operation: 'MissingDialog', outcome: 'ok' })).toBe(false);
    const fallback = { kind: 'TRANSFER', outcome: 'ASSIGNED_TO_ANY', reason: 'group_empty' };
    expect(
      sampleSum(after, 'handover_routing_decisions_total', fallback) -
        sampleSum(before, 'handover_routing_decisions_total', fallback),
    ).toBe(1);
  });

  it('reports queued dialogs, their oldest wait and running SL clocks at scrape time', async () => {
    const g = await createGroup(t.admin);
    await createOperator(t.admin, { groupIds: [g.id] }); // offline: nobody can take the dialog
    const busy = await scrape();
    // Everyone online is made busy first, so the dialog waits in Help.
    const online = await t.admin.ok<{ operators: Array<{ id: string; status: string }> }>(`{ operators { id status } }`);
    for (const o of online.operators.filter((o) => o.status === 'ONLINE')) await setStatus(t.admin, o.id, 'OFFLINE');
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(queued.status).toBe('QUEUED');
    clock.advance(30_000);
    const after = await scrape();
    expect(sampleSum(after, 'handover_queued_dialogs', { group: g.id })).toBe(1);
    expect(sampleSum(after, 'handover_queue_oldest_wait_seconds', { group: g.id })).toBe(30);
    expect(sampleSum(after, 'handover_help_queued_dialogs')).toBeGreaterThanOrEqual(1);
    expect(sampleSum(after, 'handover_help_oldest_wait_seconds')).toBeGreaterThanOrEqual(30);
    expect(sampleSum(after, 'handover_sl_running_clocks', { group: g.id })).toBe(1);
    expect(hasSample(busy, 'handover_queued_dialogs', { group: g.id })).toBe(false);
    expect(hasSample(after, 'handover_db_pool_connections_in_use')).toBe(true);
    expect(hasSample(after, 'handover_db_pool_acquires_waiting')).toBe(true);
  });

  it('counts SL breaches found by a sweep, and the sweep round', async () => {
    const before = await scrape();
    clock.advance(3600_000); // past every deadline
    const { breached } = await t.app.sweeper.runOnce();
    expect(breached).toBeGreaterThanOrEqual(1);
    const after = await scrape();
    expect(sampleSum(after, 'handover_sl_breaches_total') - sampleSum(before, 'handover_sl_breaches_total')).toBe(breached);
    expect(
      sampleSum(after, 'handover_sweep_duration_seconds_count') - sampleSum(before, 'handover_sweep_duration_seconds_count'),
    ).toBe(1);
    expect(sampleSum(after, 'handover_sweep_failures_total')).toBe(0);
  });

  it('counts the breaches a round marked even when a later step of it fails', async () => {
    const g = await createGroup(t.admin, { slFirstResponseSec: 60 });
    const queued = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect(queued.status).toBe('QUEUED');
    // A real failure in the round's retention step: the database refuses to prune idempotency keys.
    const db = new pg.Client({ connectionString: t.db.url });
    await db.connect();
    try {
      await db.query(
        `create function refuse_prune() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`,
      );
      await db.query(
        'create trigger refuse_prune before delete on idempotency_keys for each statement execute function refuse_prune()',
      );
      const before = await scrape();
      clock.advance(3600_000);
      await expect(t.app.sweeper.runOnce()).rejects.toThrow(/sweep step/);
      const after = await scrape();
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from dialogs where id = $1 and sl_breached_at is not null',
        [queued.id],
      );
      expect(rows[0].n).toBe(1);
      expect(
        sampleSum(after, 'handover_sl_breaches_total') - sampleSum(before, 'handover_sl_breaches_total'),
      ).toBeGreaterThanOrEqual(1);
      expect(sampleSum(after, 'handover_sweep_failures_total') - sampleSum(before, 'handover_sweep_failures_total')).toBe(1);
    } finally {
      await db.query('drop trigger if exists refuse_prune on idempotency_keys');
      await db.query('drop function if exists refuse_prune()');
      await db.end();
    }
  });

  it('answers while the database does not: the gauges it reads keep their values, the failure is counted', async () => {
    const before = await scrape();
    // The queue gauges read `dialogs`: held by another transaction, the read waits as for a silent database.
    const blocker = new pg.Client({ connectionString: t.db.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table dialogs in access exclusive mode');
      const during = await scrape();
      expect(
        sampleSum(during, 'handover_metrics_refresh_failures_total') -
          sampleSum(before, 'handover_metrics_refresh_failures_total'),
      ).toBe(1);
      expect(hasSample(during, 'handover_process_cpu_user_seconds_total')).toBe(true);
      expect(sampleSum(during, 'handover_help_queued_dialogs')).toBe(sampleSum(before, 'handover_help_queued_dialogs'));
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
  });

  it('counts token lookups by where they were answered, and the tokens held', async () => {
    const fresh = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const before = await scrape();
    const lookups = (samples: PromSample[], from: string): number => sampleSum(samples, 'handover_token_lookups_total', { from });
    await fresh.ok('{ groups { id } }'); // first sight: the database
    await fresh.ok('{ groups { id } }'); // then the cache
    await fresh.ok('{ groups { id } }');
    const after = await scrape();
    expect(lookups(after, 'database') - lookups(before, 'database')).toBe(1);
    expect(lookups(after, 'cache') - lookups(before, 'cache')).toBe(2);
    expect(sampleSum(after, 'handover_token_cache_entries')).toBe(t.app.services.auth.viewers.size());
    expect(sampleSum(after, 'handover_token_cache_entries')).toBeGreaterThan(0);
  });

  it("reports the event log's head and how far this instance has delivered it", async () => {
    const before = sampleSum(await scrape(), 'handover_event_log_head_position');
    await startDialog(bot);
    await eventually(async () => {
      const now = await scrape();
      const head = sampleSum(now, 'handover_event_log_head_position');
      return head > before && sampleSum(now, 'handover_event_log_delivered_position') === head;
    });
  });

  it('counts WebSocket connections and subscriptions by root field while they are open', async () => {
    const client = wsClient(t.app.server.wsUrl, t.admin.token, { lazy: false });
    await connected(client);
    const sub = subscribe<{ queueChanged: { dialog: { id: string } } }>(
      client,
      `subscription { queueChanged { dialog { id } } }`,
    );
    try {
      await eventually(
        async () => sampleSum(await scrape(), 'handover_websocket_subscriptions', { field: 'queueChanged' }) === 1,
      );
      const open = await scrape();
      expect(sampleSum(open, 'handover_websocket_connections')).toBe(1);
      // The subscription is live: it delivers an event.
      const g = await createGroup(t.admin);
      const d = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
      await eventually(async () => (await sub.next()).queueChanged.dialog.id === d.id);
    } finally {
      sub.dispose();
      await client.dispose();
    }
    await eventually(async () => {
      const closed = await scrape();
      return (
        sampleSum(closed, 'handover_websocket_subscriptions', { field: 'queueChanged' }) === 0 &&
        sampleSum(closed, 'handover_websocket_connections') === 0
      );
    });
    const done = await scrape();
    expect(sampleSum(done, 'handover_graphql_operations_total', { transport: 'ws', type: 'subscription', outcome: 'ok' })).toBe(
      1,
    );
  });

  it('counts logins refused by the throttle, by the limit that refused them', async () => {
    const op = await createOperator(t.admin);
    const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`;
    const codes: unknown[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await t.client().request(LOGIN, { e: op.email, p: 'wrong password' })).errors?.[0]?.extensions?.code);
    expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'TOO_MANY_REQUESTS']);
    const after = await scrape();
    expect(sampleSum(after, 'handover_login_throttled_total', { limit: 'email' })).toBe(1);
    expect(sampleSum(after, 'handover_login_throttled_total', { limit: 'address' })).toBe(0);
  });
});
