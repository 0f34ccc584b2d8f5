import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startServer, type PgServer, type ServerChild } from './lib/env.js';
import { gql } from './lib/http.js';
import { seedGroups, seedOperators, withDb } from './lib/seed.js';
import { percentile, round } from './lib/stats.js';

export interface LoadResult {
  readonly clients: number;
  readonly iterations: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Runs `iteration` from `clients` concurrent loops for `durationMs`, timing each. */
export async function load(
  clients: number,
  durationMs: number,
  iteration: (client: number, i: number) => Promise<void>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        await iteration(c, i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    clients,
    iterations: latencies.length,
    seconds: round(seconds),
    perSecond: round(latencies.length / seconds, 1),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
  };
}

export interface OpenLoadResult {
  readonly ratePerSecond: number;
  readonly iterations: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Open-loop load: iterations start at Poisson arrivals of `ratePerSecond` (exponential gaps from
 * the seeded `random`), whether or not earlier ones have finished, so latency is not shaped by a
 * fixed number of waiting clients. Each latency counts from its scheduled start.
 */
export async function openLoad(
  ratePerSecond: number,
  durationMs: number,
  random: () => number,
  iteration: (i: number) => Promise<void>,
): Promise<OpenLoadResult> {
  const latencies: number[] = [];
  const running: Array<Promise<void>> = [];
  const started = performance.now();
  let due = started;
  for (let i = 0; due - started < durationMs; i++) {
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const scheduled = due;
    running.push(iteration(i).then(() => void latencies.push(performance.now() - scheduled)));
    due += (-Math.log(1 - random()) / ratePerSecond) * 1000;
  }
  await Promise.all(running);
  return {
    ratePerSecond,
    iterations: latencies.length,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
  };
}

/** The product: startDialog + transferDialog over HTTP, as a bot runtime does it. */
export function productIteration(url: string, token: string, groups: readonly string[]): (c: number, i: number) => Promise<void> {
  return async (c, i) => {
    const { startDialog } = await gql<{ startDialog: { id: string } }>(url, token, `mutation { startDialog(input: {}) { id } }`);
    await gql(url, token, `mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id status } }`, {
      id: startDialog.id,
      g: groups[(c + i) % groups.length],
    });
  };
}

/** Log entries as the product appends them (see append_events), for the baseline with the log. */
function logBatch(events: ReadonlyArray<{ type: string; dialogId: string; topics: string[] }>): string {
  const at = new Date().toISOString();
  return JSON.stringify(events.map((e) => ({ ...e, feed: true, at, body: { kind: 'bench', dialogId: e.dialogId } })));
}

/**
 * The baseline: the minimal hand-written SQL making the same decision — insert the dialog,
 * then one transaction that locks it, picks the least-loaded online member below maximum
 * (skipping locked rows), assigns, counts, and records the decision. With `withLog`, each of the
 * two transactions also appends the events the product writes (one for the start; two for the
 * decision, on the topics a transfer touches), so the log's own cost shows at the database's speed.
 */
export function baselineIteration(
  pool: pg.Pool,
  groups: readonly string[],
  withLog = false,
): (c: number, i: number) => Promise<void> {
  return async (c, i) => {
    const id = randomUUID();
    const group = groups[(c + i) % groups.length];
    if (withLog) {
      await pool.query(
        `with d as (insert into dialogs (id, status, created_at) values ($1, 'BOT', now()) returning id)
         select append_events($2::jsonb) from d`,
        [id, logBatch([{ type: 'DIALOG_STARTED', dialogId: id, topics: [] }])],
      );
    } else {
      await pool.query(`insert into dialogs (id, status, created_at) values ($1, 'BOT', now())`, [id]);
    }
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query('select id from dialogs where id = $1 for update', [id]);
      const { rows } = await client.query<{ id: string }>(
        `select o.id from operators o join group_members gm on gm.operator_id = o.id
          where gm.group_id = $1 and o.status = 'ONLINE' and o.deleted_at is null and o.active_dialog_count < o.max_dialogs
          order by o.active_dialog_count, o.last_assigned_at nulls first, o.id limit 1 for update of o skip locked`,
        [group],
      );
      const op = rows[0].id;
      await client.query(
        'update operators set active_dialog_count = active_dialog_count + 1, last_assigned_at = now() where id = $1',
        [op],
      );
      await client.query(`update dialogs set status = 'ASSIGNED', operator_id = $1, assigned_at = now() where id = $2`, [op, id]);
      await client.query(
        `insert into dialog_transfers (id, dialog_id, at, kind, to_operator_id, outcome) values ($1, $2, now(), 'TRANSFER', $3, 'ASSIGNED_TO_TARGET')`,
        [randomUUID(), id, op],
      );
      if (withLog) {
        await client.query('select append_events($1::jsonb)', [
          logBatch([
            { type: 'DIALOG_ASSIGNED', dialogId: id, topics: [`queue:${group}`, `operator:${op}`] },
            { type: 'dialog_status_changed', dialogId: id, topics: [`dialog:${id}`] },
          ]),
        ]);
      }
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  };
}

/** A migrated database with 10 groups and 200 ONLINE operators (each in 2 groups), and a server of its own on it. */
export interface RoutingDatabase {
  readonly db: string;
  server: ServerChild;
  readonly groups: string[];
}

export async function routingDatabase(pgServer: PgServer, env: Record<string, string>): Promise<RoutingDatabase> {
  const db = await pgServer.createDatabase();
  // The first start migrates the database the seed writes to.
  const server = await startServer(db, env);
  const groups = await withDb(db, async (c) => {
    const seeded = await seedGroups(c, 10, 'route-');
    await seedOperators(c, 200, seeded, 10_000, 'route');
    return seeded;
  });
  return { db, server, groups };
}
