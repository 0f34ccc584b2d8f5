import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { accessBench } from './access.js';
import { dashboardBench } from './dashboard.js';
import { fanoutBench, medianFanout } from './fanout.js';
import { erlangBench, liveStatsBench } from './live-stats.js';
import { ADMIN_TOKEN, cpuSeconds, postgresCpuSeconds, ROOT, startPg, startServer, type ServerChild } from './lib/env.js';
import { closeAgent, gql, integrationToken } from './lib/http.js';
import { forkHelper } from './lib/ipc.js';
import { machine, printTable, writeResults, type BenchResult } from './lib/results.js';
import { seedGroups, seedOperators, withDb } from './lib/seed.js';
import { freePort } from './lib/settled-memory.js';
import { median, round } from './lib/stats.js';
import { baselineIteration, load, openLoad, productIteration, routingDatabase, type LoadResult } from './routing.js';
import { seededRandom } from './lib/rng.js';
import { scaleBench } from './scale.js';
import { slTicksBench } from './sl-ticks.js';
import { webhooksBench } from './webhooks.js';

/**
 * `npm run bench [-- --quick]`: every benchmark against the real server (a separate process)
 * on PostgreSQL (DATABASE_URL's server, in a fresh database, else an embedded one). Prints a
 * table and writes bench/results.json. Load stays on 127.0.0.1; every loop is bounded.
 */
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const cfg = quick
  ? {
      durationMs: 1500,
      reps: 1,
      concurrency: [1, 8, 32],
      subscribers: 200,
      events: 20,
      tickSubscribers: 50,
      tickWindowMs: 5000,
      closed: 20_000,
      queued: 1000,
      dashRequests: 20,
      statsRequests: 50,
      webhookSeconds: 3,
      accessCalls: 500,
    }
  : {
      durationMs: 5000,
      reps: 3,
      concurrency: [1, 8, 32],
      subscribers: 2000,
      events: 100,
      tickSubscribers: 200,
      tickWindowMs: 30_000,
      closed: 200_000,
      queued: 5000,
      dashRequests: 200,
      statsRequests: 500,
      webhookSeconds: 20,
      accessCalls: 5000,
    };
const wanted = (name: string): boolean => !only || only.split(',').includes(name);

/** The run with the median throughput. */
function medianRun<T extends LoadResult>(runs: readonly T[]): T {
  const mid = median(runs.map((r) => r.perSecond));
  return runs.find((r) => r.perSecond === mid)!;
}

/** Median of `reps` runs (by throughput). */
async function repeat(reps: number, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const runs: LoadResult[] = [];
  for (let i = 0; i < reps; i++) runs.push(await run());
  return medianRun(runs);
}

/** CPU milliseconds per iteration of one run: the server process's, PostgreSQL's and this process's. */
interface CpuPerIteration {
  readonly server: number;
  readonly database: number;
  readonly client: number;
}

/** The three loads each routing round runs in turn (at 32 clients, a fourth: see routingWebhook). */
type Side = 'product' | 'baseline' | 'logged';

interface MeasuredRun extends LoadResult {
  readonly cpu: CpuPerIteration;
}

/** Runs `run` and reads the CPU it took from /proc (the server's only when `serverPid` is given). */
async function measured(run: () => Promise<LoadResult>, serverPid: number | null): Promise<MeasuredRun> {
  const [server0, db0, self0] = [serverPid ? await cpuSeconds(serverPid) : 0, await postgresCpuSeconds(), process.cpuUsage()];
  const result = await run();
  const self = process.cpuUsage(self0);
  const perIteration = (seconds: number): number => round((seconds * 1000) / result.iterations, 2);
  const cpu = {
    server: perIteration(serverPid ? (await cpuSeconds(serverPid)) - server0 : 0),
    database: perIteration((await postgresCpuSeconds()) - db0),
    client: perIteration((self.user + self.system) / 1e6),
  };
  return { ...result, cpu };
}

/** The routing events a bot platform would take as webhooks: two per start + transfer. */
const ROUTING_EVENT_TYPES = ['DIALOG_STARTED', 'DIALOG_ASSIGNED', 'DIALOG_QUEUED'];
const EVENTS_PER_ITERATION = 2;

interface HookedRun {
  readonly run: MeasuredRun;
  /** Deliveries the receiver had verified when the load ended, per iteration. */
  readonly deliveredInWindow: number;
  /** From the load's end until every event of the run was delivered, ms. */
  readonly drainMs: number;
  /** Dialogs per second over the run and the drain after it: routing with every delivery made. */
  readonly withDeliveriesPerSecond: number;
  /** CPU ms per iteration over the run and the drain: every delivery made, the receiver's verification included. */
  readonly withDeliveriesCpu: { readonly server: number; readonly database: number; readonly receiver: number };
}

/**
 * A webhook on the routing events, to a receiver in a process of its own that verifies every
 * signature. It is on only while `during` runs a load, then every event of that load is awaited
 * before the next run starts, so no other run shares the machine with its deliveries.
 */
async function routingWebhook(server: ServerChild): Promise<{
  during(run: () => Promise<MeasuredRun>): Promise<HookedRun>;
  stop(): Promise<void>;
}> {
  const receiver = forkHelper('webhook-receiver');
  const { url } = await receiver.next<{ url: string }>('listening');
  const { createWebhook } = await gql<{ createWebhook: { webhook: { id: string }; secret: string } }>(
    server.url,
    ADMIN_TOKEN,
    `mutation($u: String!, $t: [EventType!]!) { createWebhook(input: { url: $u, types: $t }) { webhook { id } secret } }`,
    { u: url, t: ROUTING_EVENT_TYPES },
  );
  receiver.send({ kind: 'secret', secret: createWebhook.secret });
  await receiver.next('ready');
  const setActive = (active: boolean): Promise<unknown> =>
    gql(server.url, ADMIN_TOKEN, `mutation($id: ID!, $a: Boolean!) { updateWebhook(id: $id, input: { active: $a }) { id } }`, {
      id: createWebhook.webhook.id,
      a: active,
    });
  const delivered = async (): Promise<{ delivered: number; rejected: number }> => {
    receiver.send({ kind: 'report' });
    return receiver.next('report');
  };
  await setActive(false);
  return {
    async during(load) {
      const before = (await delivered()).delivered;
      await setActive(true);
      const cpu0 = [await cpuSeconds(server.pid), await postgresCpuSeconds(), await cpuSeconds(receiver.child.pid!)];
      const run = await load();
      const ended = performance.now();
      const inWindow = (await delivered()).delivered - before;
      const expected = before + run.iterations * EVENTS_PER_ITERATION;
      for (let waited = 0; (await delivered()).delivered < expected; waited += 20) {
        if (waited > 120_000) throw new Error('webhook deliveries did not catch up within 2 minutes');
        await new Promise((r) => setTimeout(r, 20));
      }
      const drainMs = round(performance.now() - ended);
      const cpu1 = [await cpuSeconds(server.pid), await postgresCpuSeconds(), await cpuSeconds(receiver.child.pid!)];
      const [serverCpu, databaseCpu, receiverCpu] = cpu1.map((seconds, i) =>
        round(((seconds - cpu0[i]) * 1000) / run.iterations),
      );
      await setActive(false);
      const { rejected } = await delivered();
      if (rejected > 0) throw new Error(`${rejected} webhook deliveries failed their signature check`);
      return {
        run,
        deliveredInWindow: round(inWindow / run.iterations, 2),
        drainMs,
        withDeliveriesPerSecond: round(run.iterations / (run.seconds + drainMs / 1000), 1),
        withDeliveriesCpu: { server: serverCpu, database: databaseCpu, receiver: receiverCpu },
      };
    },
    stop: () => receiver.stop(),
  };
}

async function previousResults(): Promise<BenchResult[]> {
  try {
    return (JSON.parse(await readFile(`${ROOT}/bench/results.json`, 'utf8')) as { results: BenchResult[] }).results;
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const pgServer = await startPg();
  const results: BenchResult[] = [];
  const servers: ServerChild[] = [];
  try {
    // Webhooks may reach the benchmark's receiver on 127.0.0.1.
    const routingEnv = { SWEEP_INTERVAL_MS: '60000', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
    const { db, server, groups } = await routingDatabase(pgServer, routingEnv);
    servers.push(server);
    const token = await integrationToken(server);
    const pool = new pg.Pool({ connectionString: db, max: 20 });

    if (wanted('routing')) {
      const figures: Record<string, number> = {};
      let ratio32 = NaN;
      const product = productIteration(server.url, token, groups);
      const webhook = await routingWebhook(server);
      for (const clients of cfg.concurrency) {
        // Rounds of the three in turn: this machine's speed drifts over minutes, so each ratio is
        // taken between runs of one round, and the figures are medians over the rounds.
        const rounds: Array<Record<Side, MeasuredRun>> = [];
        // At 32 clients each round also runs the product with a webhook on every routing event.
        const hooked: HookedRun[] = [];
        for (let r = 0; r < cfg.reps; r++) {
          rounds.push({
            product: await measured(() => load(clients, cfg.durationMs, product), server.pid),
            baseline: await measured(() => load(clients, cfg.durationMs, baselineIteration(pool, groups)), null),
            logged: await measured(() => load(clients, cfg.durationMs, baselineIteration(pool, groups, true)), null),
          });
          if (clients === 32) {
            hooked.push(await webhook.during(() => measured(() => load(clients, cfg.durationMs, product), server.pid)));
          }
        }
        const runsOf = (side: Side): MeasuredRun[] => rounds.map((r) => r[side]);
        const [productRuns, baselineRuns, loggedRuns] = [runsOf('product'), runsOf('baseline'), runsOf('logged')];
        const [productRun, baselineRun, loggedRun] = [medianRun(productRuns), medianRun(baselineRuns), medianRun(loggedRuns)];
        const ratio = round(median(rounds.map((r) => r.product.perSecond / r.baseline.perSecond)));
        Object.assign(figures, {
          [`${clients} clients: dialogs/s`]: productRun.perSecond,
          [`${clients} clients: p50 ms`]: productRun.p50Ms,
          [`${clients} clients: p99 ms`]: productRun.p99Ms,
          [`${clients} clients: baseline dialogs/s`]: baselineRun.perSecond,
          [`${clients} clients: baseline p99 ms`]: baselineRun.p99Ms,
          [`${clients} clients: routing ratio`]: ratio,
          [`${clients} clients: baseline with the event log dialogs/s`]: loggedRun.perSecond,
          [`${clients} clients: event log cost (baseline with log / without)`]: round(
            median(rounds.map((r) => r.logged.perSecond / r.baseline.perSecond)),
          ),
        });
        if (clients === 32) {
          ratio32 = ratio;
          // CPU per iteration (user + system, from /proc), each the median over the rounds: the
          // server's, and what the load generator (this process) and PostgreSQL spend for it.
          const cpu = (runs: MeasuredRun[], part: keyof CpuPerIteration): number => median(runs.map((run) => run.cpu[part]));
          Object.assign(figures, {
            '32 clients: server CPU ms per iteration': cpu(productRuns, 'server'),
            '32 clients: PostgreSQL CPU ms per iteration': cpu(productRuns, 'database'),
            '32 clients: load generator CPU ms per iteration': cpu(productRuns, 'client'),
            '32 clients: baseline PostgreSQL CPU ms per iteration': cpu(baselineRuns, 'database'),
            '32 clients: baseline load generator CPU ms per iteration': cpu(baselineRuns, 'client'),
            '32 clients: baseline with the event log PostgreSQL CPU ms per iteration': cpu(loggedRuns, 'database'),
          });
          const hookedRun = medianRun(hooked.map((h) => h.run));
          Object.assign(figures, {
            '32 clients, a webhook on: dialogs/s': hookedRun.perSecond,
            '32 clients, a webhook on: p99 ms': hookedRun.p99Ms,
            '32 clients, a webhook on: routing ratio': round(
              median(hooked.map((h, r) => h.run.perSecond / rounds[r].baseline.perSecond)),
            ),
            '32 clients, a webhook on: server CPU ms per iteration': median(hooked.map((h) => h.run.cpu.server)),
            '32 clients, a webhook on: deliveries per iteration within the run': median(hooked.map((h) => h.deliveredInWindow)),
            '32 clients, a webhook on: ms after the run until all were delivered': median(hooked.map((h) => h.drainMs)),
            '32 clients, a webhook on: routing ratio with every delivery made': round(
              median(hooked.map((h, r) => h.withDeliveriesPerSecond / rounds[r].baseline.perSecond)),
            ),
            // Medians over the rounds, each over its run and the drain after it.
            '32 clients, a webhook on, every delivery made: server CPU ms per iteration': median(
              hooked.map((h) => h.withDeliveriesCpu.server),
            ),
            '32 clients, a webhook on, every delivery made: PostgreSQL CPU ms per iteration': median(
              hooked.map((h) => h.withDeliveriesCpu.database),
            ),
            '32 clients, a webhook on, every delivery made: receiver CPU ms per iteration': median(
              hooked.map((h) => h.withDeliveriesCpu.receiver),
            ),
          });
        }
      }
      await webhook.stop();
      // A steady 100 dialogs/s arriving at random (Poisson), not 32 clients waiting on each other.
      const open = await openLoad(100, cfg.durationMs * 2, seededRandom(20261201), (i) => product(i % 32, i));
      Object.assign(figures, {
        'open loop 100 dialogs/s: iterations': open.iterations,
        'open loop 100 dialogs/s: p50 ms': open.p50Ms,
        'open loop 100 dialogs/s: p99 ms': open.p99Ms,
      });
      // The same 32 clients spread over two server processes on the one database.
      const second = await startServer(db, routingEnv);
      servers.push(second);
      const perProcess = [productIteration(server.url, token, groups), productIteration(second.url, token, groups)];
      const spread = await repeat(cfg.reps, () => load(32, cfg.durationMs, (c, i) => perProcess[c % 2](c, i)));
      await second.stop();
      Object.assign(figures, {
        '32 clients on 2 processes: dialogs/s': spread.perSecond,
        '32 clients on 2 processes: p50 ms': spread.p50Ms,
        '32 clients on 2 processes: p99 ms': spread.p99Ms,
        '32 clients on 2 processes: routing ratio': round(spread.perSecond / (figures['32 clients: baseline dialogs/s'] ?? NaN)),
      });
      results.push({
        name: 'routing',
        parameters: { operators: 200, groups: 10, groupsPerOperator: 2, durationMs: cfg.durationMs, reps: cfg.reps },
        figures,
        ratio: ratio32,
        targets: {
          ratio: '≥ 0.5 at 32 clients, also with a webhook on',
          p99: '< 50 ms (open loop at 100 dialogs/s)',
          cpu: '≤ 3 ms per iteration',
        },
        notes: 'one iteration = startDialog + transferDialog over HTTP; baseline = the same decision as hand-written SQL via pg',
      });
      console.log(`routing ratio = product / baseline = ${ratio32} (32 clients)`);
    }

    // Idle from here on: every later benchmark has a server of its own.
    await server.stop();
    await pool.end();

    if (wanted('scale')) {
      const scaleCfg = { clients: 32, durationMs: cfg.durationMs, rounds: cfg.reps, closed: cfg.closed, queued: cfg.queued };
      results.push(await scaleBench(pgServer, { ...scaleCfg, serverEnv: routingEnv }));
    }

    if (wanted('dashboard')) results.push(await dashboardBench(await pgServer.createDatabase(), cfg.dashRequests));

    if (wanted('fanout')) {
      // A database of its own with nothing queued: a sweep drains queued dialogs onto the
      // operators (the queue's safety net), thousands of events in the middle of a run.
      const fanoutDb = await pgServer.createDatabase();
      // A process of its own for each run, as the baseline's broadcaster has: a process that
      // already held 2,000 connections reuses their memory, and its later runs would read less.
      const startFanoutServer = async (): Promise<{ server: ServerChild; inspectPort: number }> => {
        const inspectPort = await freePort();
        const started = await startServer(fanoutDb, { SWEEP_INTERVAL_MS: '60000' }, [`--inspect-port=${inspectPort}`]);
        servers.push(started);
        return { server: started, inspectPort };
      };
      // The first process migrates the database the seed writes to.
      let fanout = await startFanoutServer();
      const fanoutGroups = await withDb(fanoutDb, async (c) => {
        // A day's SL target: with 60 s, a sweep in the third run would announce the SL warnings
        // and breaches of the first run's ~400 dialogs to all 2,000 subscribers at once.
        const seeded = await seedGroups(c, 10, 'fanout-', 86_400);
        await seedOperators(c, 200, seeded, 10_000, 'fanout');
        return seeded;
      });
      const runs: BenchResult[] = [];
      for (let i = 0; i < cfg.reps; i++) {
        if (i > 0) fanout = await startFanoutServer();
        const token = await integrationToken(fanout.server);
        runs.push(await fanoutBench(fanout.server, fanout.inspectPort, token, fanoutGroups[1], cfg.subscribers, cfg.events));
      }
      results.push(medianFanout(runs));
    }

    if (wanted('ticks')) {
      // 10,000 running first-response clocks over 50 groups, loaded by the ticker at start.
      const tickDb = await pgServer.createDatabase();
      const tickServer = await startServer(tickDb, { SWEEP_INTERVAL_MS: '60000' });
      const tickGroups = await withDb(tickDb, async (c) => {
        const g = await seedGroups(c, 50, 'tick-', 3600);
        await c.query(
          `insert into dialogs (id, status, group_id, created_at, handed_over_at, queued_at, sl_kind, sl_started_at, sl_deadline, sl_group_id)
           select gen_random_uuid(), 'QUEUED', gid, now(), now(), now(), 'FIRST_RESPONSE', now(), now() + (600 + i % 3000 || ' seconds')::interval, gid
             from generate_series(1, 10000) i
             join lateral (select id as gid from groups where name like 'tick-%' order by id offset (i % 50) limit 1) x on true`,
        );
        return g;
      });
      await tickServer.stop();
      const ticking = await startServer(tickDb, { SWEEP_INTERVAL_MS: '60000' });
      servers.push(ticking);
      results.push(await slTicksBench(ticking, tickGroups, cfg.tickSubscribers, 10_000, cfg.tickWindowMs));
    }

    if (wanted('live')) {
      const liveDb = await pgServer.createDatabase();
      const liveServer = await startServer(liveDb, { SWEEP_INTERVAL_MS: '60000' });
      servers.push(liveServer);
      results.push(await liveStatsBench(liveServer, liveDb, cfg.closed, cfg.statsRequests));
    }
    if (wanted('webhooks')) {
      const hookDb = await pgServer.createDatabase();
      const hookServer = await startServer(hookDb, { SWEEP_INTERVAL_MS: '60000', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
      servers.push(hookServer);
      results.push(await webhooksBench(hookServer, await integrationToken(hookServer), 100, cfg.webhookSeconds));
      await hookServer.stop();
    }
    if (wanted('access')) results.push(await accessBench(db, cfg.accessCalls));
    if (wanted('erlang')) results.push(erlangBench());

    printTable(results);
    // With --only, the other benchmarks keep their last recorded figures.
    const kept = only ? (await previousResults()).filter((r) => !results.some((n) => n.name === r.name)) : [];
    await writeResults(`${ROOT}/bench/results.json`, {
      machine: machine(pgServer.version),
      quick,
      results: [...kept, ...results],
    });
    console.log(`\nwritten: bench/results.json${quick ? ' (quick run: figures are indicative only)' : ''}`);
  } finally {
    for (const s of servers) if (s.child.exitCode === null) await s.stop();
    closeAgent();
    await pgServer.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
