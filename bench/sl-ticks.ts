import { ADMIN_TOKEN, cpuSeconds, type ServerChild } from './lib/env.js';
import { forkHelper } from './lib/ipc.js';
import type { BenchResult } from './lib/results.js';
import { percentile, round } from './lib/stats.js';

const QUERY = `subscription($g: ID, $ms: Int) { slTicks(groupId: $g, intervalMs: $ms) { serverTime timers { dialogId timer { remainingMs breached } } } }`;

/**
 * SL ticks: `subscribers` clients (a separate process) each following one group's timers at
 * 1 s, with `timers` clocks running; server CPU over the window and tick jitter.
 */
export async function slTicksBench(
  server: ServerChild,
  groups: readonly string[],
  subscribers: number,
  timers: number,
  windowMs: number,
): Promise<BenchResult> {
  const clients = forkHelper('clients');
  clients.send({
    kind: 'start',
    mode: 'graphql',
    url: server.wsUrl,
    token: ADMIN_TOKEN,
    count: subscribers,
    query: QUERY,
    variablesList: Array.from({ length: subscribers }, (_, i) => ({ g: groups[i % groups.length], ms: 1000 })),
  });
  await clients.next('started');
  await new Promise((r) => setTimeout(r, 3000)); // all subscribed and ticking
  clients.send({ kind: 'report' });
  const before = await clients.next<{ arrivals: number[][] }>('report');
  const cpu0 = await cpuSeconds(server.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const cpu1 = await cpuSeconds(server.pid);
  const elapsed = (performance.now() - t0) / 1000;
  clients.send({ kind: 'report' });
  const after = await clients.next<{ arrivals: number[][] }>('report');
  await clients.stop();

  const jitter: number[] = [];
  let batches = 0;
  after.arrivals.forEach((times, i) => {
    const fresh = times.slice(before.arrivals[i]?.length ?? 0);
    batches += fresh.length;
    for (let k = 1; k < fresh.length; k++) jitter.push(Math.abs(fresh[k] - fresh[k - 1] - 1000));
  });
  const cpuPercent = ((cpu1 - cpu0) / elapsed) * 100;
  return {
    name: 'SL ticks',
    parameters: {
      timers,
      subscribers,
      intervalMs: 1000,
      windowSec: round(elapsed, 1),
      scope: `each subscriber follows one of ${groups.length} groups`,
    },
    figures: {
      'batches received': batches,
      'server CPU % of one core': round(cpuPercent, 1),
      'tick jitter p50 ms': round(percentile(jitter, 50)),
      'tick jitter p99 ms': round(percentile(jitter, 99)),
    },
    targets: { cpu: '< 10% of one core', jitter: 'report p99' },
  };
}
