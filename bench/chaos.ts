import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { checkInvariants, checkStream, topicSequences } from './chaos/checks.js';
import { Cluster, now, sleep, type Node, type Window } from './chaos/cluster.js';
import { Operations, planOps, type OpResult } from './chaos/ops.js';
import { printSummary, summarize, violations } from './chaos/report.js';
import { dialogWatch, queueWatch, Watcher } from './chaos/watchers.js';
import { login, seed, type World } from './chaos/world.js';
import { ROOT } from './lib/env.js';
import { closeAgent, gql } from './lib/http.js';
import { seededRandom } from './lib/rng.js';

/**
 * `npm run chaos [-- --quick] [-- --seed N]`: three server processes on their own embedded
 * PostgreSQL, many clients doing mixed operations, one server killed (-9) and PostgreSQL
 * restarted mid-run; then the invariants are checked in SQL and every subscriber's sequence
 * numbers are checked. Exits 1 on any violation.
 */
const quick = process.argv.includes('--quick');
const seedArg = process.argv.findIndex((a) => a === '--seed' || a.startsWith('--seed='));
const seedText =
  seedArg < 0
    ? undefined
    : process.argv[seedArg].includes('=')
      ? process.argv[seedArg].slice('--seed='.length)
      : process.argv[seedArg + 1];
const seedValue = seedText === undefined ? randomInt(2 ** 31) : Number(seedText);
if (!Number.isInteger(seedValue) || seedValue < 0) {
  console.error('--seed takes a non-negative integer');
  process.exit(2);
}
const cfg = quick
  ? { clients: 16, ops: 1500, groups: 4, operators: 12, scenarios: 3, watchedDialogs: 3, deadlineMs: 4 * 60_000 }
  : { clients: 64, ops: 10_000, groups: 6, operators: 24, scenarios: 4, watchedDialogs: 4, deadlineMs: 20 * 60_000 };
const SERVERS = 3;
/** The process that is killed; subscribers live on the others. */
const VICTIM = 0;
const KILL_AT = 0.25;
const DB_RESTART_AT = 0.55;
const DOWN_MS = 2000;
const SWEEP_WAIT_MS = 3500;
/** How long subscribers may take to catch up after the traffic, and to go without any progress. */
const CATCH_UP_LIMIT_MS = 5 * 60_000;
const STALL_MS = 15_000;
const seconds = (w: Window): string => ((w.to - w.from) / 1000).toFixed(1);
const log = (message: string): void => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${message}`);

let cluster: Cluster | null = null;
const watchers: Watcher[] = [];
const received = (): number => watchers.reduce((n, w) => n + w.received.length, 0);
let cleaning: Promise<void> | null = null;
let interrupted = false;

/** Stops everything this run started; every caller waits for the same single cleanup. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    closeAgent();
    await cluster?.stop();
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: cleaning up`);
    // Settled before the exit: a failed cleanup is reported, then the run exits all the same.
    void cleanup()
      .catch((error: unknown) => log(`cleanup failed: ${String(error)}`))
      .finally(() => process.exit(130));
  });
}

/** Every watcher has seen one event, so its subscription is live before the traffic starts. */
async function warmUp(url: string, world: World, warm: readonly Watcher[]): Promise<void> {
  for (let round = 0; round < 30; round++) {
    const cold = warm.filter((w) => w.received.length === 0);
    if (cold.length === 0) return;
    const topics = new Set(cold.map((w) => w.spec.topic));
    // Operators are all OFFLINE now: a transfer to a group queues the dialog (its group and Help).
    for (const groupId of world.groups) {
      if (!topics.has(`queue:${groupId}`) && !(topics.has('queue:help') && groupId === world.groups[0])) continue;
      const { startDialog } = await gql<{ startDialog: { id: string } }>(
        url,
        world.botToken,
        `mutation { startDialog(input: { clientName: "warm-up" }) { id } }`,
      );
      await gql(url, world.botToken, `mutation($d: ID!, $g: ID!) { transferDialog(dialogId: $d, to: { groupId: $g }) { id } }`, {
        d: startDialog.id,
        g: groupId,
      });
      world.dialogs.push({ id: startDialog.id, status: 'QUEUED', watched: false });
    }
    for (const dialog of world.dialogs.filter((d) => d.watched && topics.has(`dialog:${d.id}`))) {
      await gql(url, world.botToken, `mutation($d: ID!) { postClientMessage(dialogId: $d, text: "warm-up") { id } }`, {
        d: dialog.id,
      });
    }
    await sleep(300);
  }
  throw new Error(
    `subscriptions never saw an event: ${warm
      .filter((w) => w.received.length === 0)
      .map((w) => w.spec.label)
      .join(', ')}`,
  );
}

function serverFor(c: Cluster, client: number): Node | undefined {
  for (let k = 0; k < c.nodes.length; k++) {
    const node = c.nodes[(client + k) % c.nodes.length];
    if (c.isUp(node)) return node;
  }
  return undefined;
}

async function main(): Promise<number> {
  log(
    `seed ${seedValue} (--seed ${seedValue} replays the choice of operations and targets; the interleaving of ${cfg.clients} concurrent clients is not replayable)`,
  );
  log(`${quick ? 'quick' : 'full'} run: ${cfg.clients} clients, ${cfg.ops} operations, ${SERVERS} server processes`);
  const c = await Cluster.start(SERVERS, log);
  cluster = c;
  // A signal during the start found nothing to stop yet.
  if (interrupted) await c.stop();
  log(`embedded PostgreSQL on 127.0.0.1:${c.postgresPort}; servers ${c.nodes.map((n) => n.url).join(' ')}`);

  const random = seededRandom(seedValue);
  const world = await seed(c.nodes[0].url, cfg, random);
  for (const node of c.nodes.filter((n) => n.index !== VICTIM)) {
    for (const groupId of [...world.groups, null])
      watchers.push(new Watcher(queueWatch(groupId, node.index), node.wsUrl, world.botToken));
    for (const d of world.dialogs.filter((x) => x.watched))
      watchers.push(new Watcher(dialogWatch(d.id, node.index), node.wsUrl, world.botToken));
  }
  for (const w of watchers) w.start();
  await warmUp(c.nodes[1].url, world, watchers);
  log(
    `${watchers.length} subscriptions live on servers ${c.nodes
      .filter((n) => n.index !== VICTIM)
      .map((n) => n.index)
      .join(', ')}`,
  );

  // Three in four operators log in and come ONLINE (which drains the warm-up dialogs).
  for (const [i, slot] of world.operators.entries()) {
    if (i % 4 === 3) continue;
    const url = c.nodes[i % SERVERS].url;
    slot.token = await login(url, slot);
    await gql(url, slot.token, `mutation { setOperatorStatus(status: ONLINE) { id } }`);
  }

  const plan = planOps(seedValue, cfg.ops);
  const operations = new Operations(world);
  const results: OpResult[] = [];
  let next = 0;
  const deadline = now() + cfg.deadlineMs;
  const worker = async (client: number): Promise<void> => {
    while (next < plan.length && now() < deadline) {
      const op = plan[next++];
      const node = serverFor(c, client);
      if (!node) {
        await sleep(100);
        continue;
      }
      const result = await operations.run(op, node.url, node.index);
      results.push(result);
      // What a real client does after a failure of the service: back off a little.
      if (
        ['TRANSPORT', 'TIMEOUT', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE'].includes(result.outcome) ||
        result.outcome.startsWith('HTTP_')
      )
        await sleep(100);
    }
  };
  const chaos = async (): Promise<string[]> => {
    const skipped: string[] = [];
    const reach = async (fraction: number): Promise<boolean> => {
      while (next < plan.length * fraction && now() < deadline) await sleep(20);
      return next < plan.length;
    };
    if (await reach(KILL_AT)) {
      log(`kill -9 server ${VICTIM} (pid ${c.nodes[VICTIM].process!.pid}); restart in ${DOWN_MS} ms`);
      await c.killAndRestart(c.nodes[VICTIM], DOWN_MS);
      log(
        `server ${VICTIM} back and every server ready, ${seconds(c.serverKills.at(-1)!)} s after the kill (${((c.serverKills.at(-1)!.from - started) / 1000).toFixed(1)} s into the traffic)`,
      );
    } else skipped.push('server kill');
    if (await reach(DB_RESTART_AT)) {
      log(`stopping PostgreSQL; starting it again in ${DOWN_MS} ms`);
      await c.restartPostgres(DOWN_MS);
      log(
        `PostgreSQL back and every server ready, ${seconds(c.dbOutages.at(-1)!)} s after the stop (${((c.dbOutages.at(-1)!.from - started) / 1000).toFixed(1)} s into the traffic)`,
      );
    } else skipped.push('database restart');
    return skipped;
  };
  const started = now();
  const [skipped] = await Promise.all([chaos(), ...Array.from({ length: cfg.clients }, (_, i) => worker(i))]);
  const trafficEnd = now();
  const trafficMs = trafficEnd - started;
  log(
    `${results.length} operations in ${(trafficMs / 1000).toFixed(1)} s${results.length < plan.length ? ` (stopped at the ${cfg.deadlineMs / 60_000} min limit)` : ''}`,
  );

  // Idle: let the periodic sweeps run, then look at the database and the streams.
  await c.waitReady(60_000);
  await sleep(SWEEP_WAIT_MS);
  const invariants = await checkInvariants(
    c.databaseUrl,
    world.dialogs.map((d) => d.id),
  );
  // Subscribers may lag behind a busy server: wait while they still make progress (bounded).
  let committed = await topicSequences(c.databaseUrl);
  const behind = (): Watcher[] => watchers.filter((w) => (w.last ?? 0) < (committed.get(w.spec.topic) ?? 0));
  let catchUpMs: number | null = null;
  let seen = received();
  let lastProgress = now();
  while (now() - trafficEnd < CATCH_UP_LIMIT_MS && now() - lastProgress < STALL_MS) {
    committed = await topicSequences(c.databaseUrl);
    if (behind().length === 0) {
      catchUpMs = now() - trafficEnd;
      break;
    }
    if (received() > seen) {
      seen = received();
      lastProgress = now();
    }
    await sleep(250);
  }
  const streams = watchers.map((w) =>
    checkStream(w, c.nodes[w.spec.server].listenerDown, c.dbOutages, committed.get(w.spec.topic) ?? 0),
  );
  const summary = summarize(results, c, invariants, streams, catchUpMs, c.logs);
  printSummary(summary);
  const failures = violations(summary) + skipped.length + (results.length < plan.length ? 1 : 0);
  for (const s of skipped) console.log(`FAIL: the ${s} did not happen (traffic ended first)`);
  if (results.length < plan.length)
    console.log(`FAIL: only ${results.length} of ${plan.length} operations within the time limit`);
  console.log(`\n${failures === 0 ? 'PASS' : `FAIL: ${failures} violation(s)`} (seed ${seedValue})`);
  if (!quick) {
    const file = 'bench/chaos-results.json';
    const windows = { serverKills: c.serverKills, dbOutages: c.dbOutages };
    await writeFile(
      `${ROOT}/${file}`,
      `${JSON.stringify({ at: new Date().toISOString(), seed: seedValue, config: cfg, trafficMs, windows, ...summary, failures }, null, 2)}\n`,
    );
    log(`written: ${file}`);
  }
  return failures === 0 ? 0 : 1;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exit(interrupted ? 130 : code);
  })
  .catch(async (error: unknown) => {
    // After a signal, the run fails as its parts are stopped under it: that is not news.
    if (!interrupted) console.error(error);
    await cleanup().catch((e: unknown) => console.error('cleanup failed:', e));
    process.exit(interrupted ? 130 : 1);
  });
