import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ADMIN_TOKEN, cpuSeconds, ROOT, serverFlags, type ServerChild } from './lib/env.js';
import { gql } from './lib/http.js';
import { forkHelper, type IpcChild } from './lib/ipc.js';
import type { BenchResult } from './lib/results.js';
import { freePort, rssAfterGc } from './lib/settled-memory.js';
import { now, percentile, round } from './lib/stats.js';

const QUERY = `subscription($g: ID) { queueChanged(groupId: $g) { type sequence groupId dialog { id status operator { id } } stats { queued onlineOperators freeCapacity } } }`;

interface Report {
  received: Record<string, { count: number; first: number; last: number; bytes: number }>;
}

/**
 * Fan-out: N graphql-ws subscribers (in a separate process) on one group's queue; each of
 * `events` transfers is timed from the mutation's response (after commit) to the moment the
 * last subscriber has the event. Baselines: a bare ws server broadcasting the same number of
 * bytes (the target's), and graphql-ws alone broadcasting one shared result per event (what the
 * protocol's library costs by itself). `server` is a fresh process, as each broadcaster is, so all
 * read their memory alike; it is stopped once its side is measured, so that the baselines do not
 * share the machine with it.
 */
export async function fanoutBench(
  server: ServerChild,
  /** The server's `--inspect-port`, for its memory after a full collection. */
  inspectPort: number,
  token: string,
  groupId: string,
  subscribers: number,
  events: number,
): Promise<BenchResult> {
  const publish = async (): Promise<{ id: string; at: number }> => {
    const { startDialog } = await gql<{ startDialog: { id: string } }>(
      server.url,
      token,
      `mutation { startDialog(input: {}) { id } }`,
    );
    await gql(server.url, token, `mutation($id: ID!, $g: ID!) { transferDialog(dialogId: $id, to: { groupId: $g }) { id } }`, {
      id: startDialog.id,
      g: groupId,
    });
    return { id: startDialog.id, at: now() };
  };
  const subscribe = (count: number): Promise<IpcChild> =>
    startClients({
      mode: 'graphql',
      url: server.wsUrl,
      token: ADMIN_TOKEN,
      count,
      query: QUERY,
      variablesList: Array.from({ length: count }, () => ({ g: groupId })),
    });
  // The server's own warm-up (compiled code, pools, caches, the socket paths' first use) is not
  // the connections' memory: events, then a few subscribers that come and go.
  for (let i = 0; i < ALONE_EVENTS; i++) await publish();
  // The same publishes with no subscriber: what making an event costs the server by itself.
  const aloneCpu0 = await cpuSeconds(server.pid);
  for (let i = 0; i < ALONE_EVENTS; i++) await publish();
  const aloneMsPerEvent = await cpuMsPerEvent(server.pid, aloneCpu0, ALONE_EVENTS);
  const warm = await subscribe(WARM_SOCKETS);
  await untilLive(warm, WARM_SOCKETS, async () => (await publish()).id);
  await warm.stop();
  await new Promise((r) => setTimeout(r, 500));
  const rssBefore = await rssAfterGc(server.pid, inspectPort);
  const clients = await subscribe(subscribers);
  await untilLive(clients, subscribers, async () => (await publish()).id);
  await new Promise((r) => setTimeout(r, 500));
  const rssIdle = await rssAfterGc(server.pid, inspectPort);
  // The probe's forced full collection and the idle second before it leave the process cold:
  // the first events after it took 2-3 × the steady time. Those are the probe's, not fan-out's.
  let lastWarm = '';
  for (let i = 0; i < REWARM_EVENTS; i++) {
    lastWarm = (await publish()).id;
    await new Promise((r) => setTimeout(r, 20));
  }
  await untilArrived(clients, lastWarm, subscribers);

  const sent: Array<{ id: string; at: number }> = [];
  const serverCpu0 = await cpuSeconds(server.pid);
  for (let i = 0; i < events; i++) {
    sent.push(await publish());
    await new Promise((r) => setTimeout(r, 20));
  }
  // As for the baseline: the helper answers a report by serializing every arrival, and asked
  // at once it would do so while the last event is still arriving.
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const serverMsPerEvent = await cpuMsPerEvent(server.pid, serverCpu0, events);
  let final: Report = await report(clients);
  for (let i = 0; i < 100 && !sent.every((s) => final.received[s.id]?.count === subscribers); i++) {
    await new Promise((r) => setTimeout(r, 100));
    final = await report(clients);
  }
  const delivered = sent
    .filter((s) => final.received[s.id]?.count === subscribers)
    .map((s) => timing(final.received[s.id], s.at));
  const latencies = delivered.map((d) => d.last);
  const payloadBytes = final.received[sent[0].id]?.bytes ?? 300;
  await clients.stop();
  // Left running, it would close 2,000 subscriptions and collect their memory during the
  // baseline's run.
  await server.stop();

  // The baselines, each alone on the machine, at the same event rate as the product's run: each
  // broadcast follows the previous one after the gap its counterpart had (a faster pace would only
  // measure the broadcaster's backlog).
  const gaps = sent.map((s, i) => (i === 0 ? 0 : s.at - sent[i - 1].at));
  const bare = await measureBaseline(BARE_WS, subscribers, gaps, payloadBytes);
  const library = await measureBaseline(GRAPHQL_WS_ALONE, subscribers, gaps, payloadBytes);

  const p99 = percentile(latencies, 99);
  return {
    name: 'fan-out',
    parameters: { subscribers, events, payloadBytes },
    figures: {
      'events delivered to every subscriber': `${latencies.length}/${events}`,
      'commit-to-last-client p50 ms': round(percentile(latencies, 50)),
      [P99]: round(p99),
      'baseline (bare ws broadcast) p50 ms': round(percentile(bare.latencies, 50)),
      [BARE_P99]: round(bare.p99),
      // Where the time goes: until the first subscriber has the event, then across the sockets.
      'commit-to-first-client p50 ms': median(delivered.map((d) => d.first)),
      'baseline first client p50 ms': median(bare.delivered.map((d) => d.first)),
      'first to last client p50 ms': median(delivered.map((d) => d.last - d.first)),
      'baseline first to last client p50 ms': median(bare.delivered.map((d) => d.last - d.first)),
      // What each side's process spends on an event (the product's includes the two mutations
      // that make it): the time the tail is made of on a machine this small.
      [CPU]: round(serverMsPerEvent, 1),
      'server CPU ms per event with no subscriber': round(aloneMsPerEvent, 1),
      [BARE_CPU]: round(bare.cpuMsPerEvent, 1),
      // Both after a full collection (lib/settled-memory.ts): live memory, not the garbage of the
      // subscriptions' start that an idle process has no reason to collect.
      [MEMORY]: round(((rssIdle - rssBefore) * 1.024) / subscribers, 1),
      [BARE_MEMORY]: round(bare.kbPerConnection, 1),
      // graphql-ws by itself, with one shared result per event: what the protocol's library
      // spends above bare ws, which the product's figures include.
      'graphql-ws alone p50 ms': round(percentile(library.latencies, 50)),
      [LIBRARY_P99]: round(library.p99),
      'graphql-ws alone first to last client p50 ms': median(library.delivered.map((d) => d.last - d.first)),
      [LIBRARY_CPU]: round(library.cpuMsPerEvent, 1),
      'graphql-ws alone RSS per idle subscribed connection KB': round(library.kbPerConnection, 1),
      [LIBRARY_RATIO]: round(library.p99 / bare.p99),
    },
    ratio: round(p99 / bare.p99),
    targets: { p99: '< 100 ms', 'vs baseline': '≤ 1.5× p99', rss: '≤ 2× the bare ws connection' },
    notes: 'latency from the mutation response (after commit) to the last client; both clocks on this machine',
  };
}

/** A baseline: a process that broadcasts to its subscribers what its parent tells it to. */
interface Baseline {
  /** Its compiled script under dist/bench. */
  readonly script: string;
  /** Starts `count` subscribers of the baseline listening on `port`. */
  subscribe(port: number, count: number): Promise<IpcChild>;
  /** The message that has it broadcast event `key`, about `bytes` long as its subscribers receive it. */
  broadcast(key: string, bytes: number): object;
}

const BARE_WS: Baseline = {
  script: 'ws-broadcaster',
  subscribe: (port, count) => startClients({ mode: 'ws', url: `ws://127.0.0.1:${port}`, token: '', count }),
  broadcast: (key, bytes) => ({ kind: 'broadcast', payload: JSON.stringify({ key, pad: 'x'.repeat(Math.max(0, bytes - 30)) }) }),
};

/** graphql-ws's message around an event of graphql-ws-broadcaster.ts, with its key and padding left out. */
const LIBRARY_MESSAGE_BYTES = JSON.stringify({
  id: '1',
  type: 'next',
  payload: { data: { queueChanged: { dialog: { id: '' }, pad: '' } } },
}).length;

const GRAPHQL_WS_ALONE: Baseline = {
  script: 'graphql-ws-broadcaster',
  subscribe: (port, count) =>
    startClients({
      mode: 'graphql',
      url: `ws://127.0.0.1:${port}/graphql`,
      token: '',
      count,
      query: 'subscription { queueChanged { dialog { id } pad } }',
    }),
  broadcast: (key, bytes) => ({
    kind: 'broadcast',
    key,
    pad: 'x'.repeat(Math.max(0, bytes - LIBRARY_MESSAGE_BYTES - key.length)),
  }),
};

/** Starts a clients helper (clients.ts) and waits until its subscribers are connected. */
async function startClients(start: Record<string, unknown>): Promise<IpcChild> {
  const helper = forkHelper('clients');
  helper.send({ kind: 'start', ...start });
  await helper.next('started');
  return helper;
}

interface BaselineRun {
  readonly delivered: ReadonlyArray<{ first: number; last: number }>;
  readonly latencies: readonly number[];
  readonly p99: number;
  readonly cpuMsPerEvent: number;
  readonly kbPerConnection: number;
}

/**
 * One baseline measured as the product is: the same warm-up of the socket paths, its memory
 * after a full collection, then one event after each of `gaps` to `subscribers` subscribers.
 */
async function measureBaseline(
  baseline: Baseline,
  subscribers: number,
  gaps: readonly number[],
  payloadBytes: number,
): Promise<BaselineRun> {
  const inspectPort = await freePort();
  const broadcaster = fork(join(ROOT, 'dist/bench', `${baseline.script}.js`), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...serverFlags(), `--inspect-port=${inspectPort}`],
  });
  const pid = broadcaster.pid!;
  const port = await new Promise<number>((resolve) => broadcaster.once('message', (m: { port: number }) => resolve(m.port)));
  let live = 0;
  const publish = async (): Promise<string> => {
    const key = `live${live++}`;
    broadcaster.send(baseline.broadcast(key, payloadBytes));
    return key;
  };
  const warm = await baseline.subscribe(port, WARM_SOCKETS);
  await untilLive(warm, WARM_SOCKETS, publish);
  await warm.stop();
  await new Promise((r) => setTimeout(r, 500));
  const rssBefore = await rssAfterGc(pid, inspectPort);
  const clients = await baseline.subscribe(port, subscribers);
  await untilLive(clients, subscribers, publish);
  await new Promise((r) => setTimeout(r, 500));
  const rssIdle = await rssAfterGc(pid, inspectPort);
  for (let i = 0; i < REWARM_EVENTS; i++) {
    broadcaster.send(baseline.broadcast(`warm${i}`, payloadBytes));
    await new Promise((r) => setTimeout(r, 20));
  }
  await untilArrived(clients, `warm${REWARM_EVENTS - 1}`, subscribers);
  const sent: Array<{ key: string; at: number }> = [];
  const cpu0 = await cpuSeconds(pid);
  for (const [i, gap] of gaps.entries()) {
    await new Promise((r) => setTimeout(r, gap));
    const key = `b${i}`;
    const message = baseline.broadcast(key, payloadBytes);
    sent.push({ key, at: now() });
    broadcaster.send(message);
  }
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const msPerEvent = await cpuMsPerEvent(pid, cpu0, gaps.length);
  const final = await report(clients);
  const delivered = sent
    .filter((s) => final.received[s.key]?.count === subscribers)
    .map((s) => timing(final.received[s.key], s.at));
  await clients.stop();
  broadcaster.send({ kind: 'stop' });
  const latencies = delivered.map((d) => d.last);
  return {
    delivered,
    latencies,
    p99: percentile(latencies, 99),
    cpuMsPerEvent: msPerEvent,
    kbPerConnection: ((rssIdle - rssBefore) * 1.024) / subscribers,
  };
}

const median = (values: readonly number[]): number => round(percentile(values, 50));

/** The CPU `pid` has used since `since` (its cpuSeconds then), in ms per event over `count` events. */
async function cpuMsPerEvent(pid: number, since: number, count: number): Promise<number> {
  return (((await cpuSeconds(pid)) - since) * 1000) / count;
}

/** What the helper's subscribers have received so far. */
async function report(helper: IpcChild): Promise<Report> {
  helper.send({ kind: 'report' });
  return helper.next<Report>('report');
}

/** Publishes events (`publish` answers each one's key) until one reaches all `count` subscribers of `helper`. */
async function untilLive(helper: IpcChild, count: number, publish: () => Promise<string>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const key = await publish();
    await new Promise((r) => setTimeout(r, 100));
    if ((await report(helper)).received[key]?.count === count) return;
  }
  throw new Error(`no event reached all ${count} subscribers`);
}

/**
 * Waits until every subscriber of `helper` has the event `key`. The unmeasured events come
 * faster than 2,000 sockets take them (bare `ws` too): measuring before they have all arrived
 * would time the first measured events behind their backlog.
 */
async function untilArrived(helper: IpcChild, key: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await report(helper)).received[key]?.count === count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`event ${key} did not reach all ${count} subscribers within 10 s`);
}

/** An event's arrival at its first and its last subscriber, in ms after it was sent. */
function timing(received: { first: number; last: number }, sentAt: number): { first: number; last: number } {
  return { first: received.first - sentAt, last: received.last - sentAt };
}

/** Subscribers that connect and leave before the first memory reading, on both sides. */
const WARM_SOCKETS = 100;
/** Publishes before any subscriber: as many to warm the server up, then as many measured. */
const ALONE_EVENTS = 100;
/** Unmeasured events after each memory probe, for the product and the baseline alike. */
const REWARM_EVENTS = 10;
/** Time the last event has to arrive everywhere before the helper is asked for its report. */
const SETTLE_MS = 1000;
const P99 = 'commit-to-last-client p99 ms';
const BARE_P99 = 'baseline (bare ws broadcast) p99 ms';
const MEMORY = 'server RSS per idle subscribed connection KB';
const BARE_MEMORY = 'baseline RSS per idle bare ws connection KB';
const CPU = 'server CPU ms per event';
const BARE_CPU = 'baseline CPU ms per event';
const LIBRARY_P99 = 'graphql-ws alone p99 ms';
const LIBRARY_CPU = 'graphql-ws alone CPU ms per event';
const LIBRARY_RATIO = 'graphql-ws alone p99 ÷ bare ws';

/**
 * The run with the median p99 ratio, with every run's latency and memory ratios beside it: on a
 * small shared machine one run's tail moves by half from one run to the next.
 */
export function medianFanout(runs: readonly BenchResult[]): BenchResult {
  const byRatio = [...runs].sort((a, b) => (a.ratio ?? 0) - (b.ratio ?? 0));
  const median = byRatio[Math.floor((byRatio.length - 1) / 2)];
  const memoryRatio = (r: BenchResult): number => round(Number(r.figures[MEMORY]) / Number(r.figures[BARE_MEMORY]));
  return {
    ...median,
    parameters: { ...median.parameters, runs: runs.length },
    figures: {
      ...median.figures,
      'memory ratio (product / baseline)': memoryRatio(median),
      'p99 ratio, every run': runs.map((r) => r.ratio).join(' / '),
      'p99 ms, every run (product against bare ws)': runs
        .map((r) => `${r.figures[P99]} against ${r.figures[BARE_P99]}`)
        .join(' / '),
      'CPU ms per event, every run (product against bare ws)': runs
        .map((r) => `${r.figures[CPU]} against ${r.figures[BARE_CPU]}`)
        .join(' / '),
      'memory ratio, every run': runs.map(memoryRatio).join(' / '),
      'graphql-ws alone p99 ÷ bare ws, every run': runs.map((r) => r.figures[LIBRARY_RATIO]).join(' / '),
      'graphql-ws alone CPU ms per event, every run': runs.map((r) => r.figures[LIBRARY_CPU]).join(' / '),
      'KB per idle connection, every run (product against bare ws)': runs
        .map((r) => `${r.figures[MEMORY]} against ${r.figures[BARE_MEMORY]}`)
        .join(' / '),
    },
  };
}
