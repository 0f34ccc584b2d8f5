import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { ADMIN_TOKEN, type ServerChild } from './lib/env.js';
import { gql } from './lib/http.js';
import type { BenchResult } from './lib/results.js';
import { percentile, round } from './lib/stats.js';

const START = `mutation { startDialog(input: {}) { id } }`;

/**
 * Webhook delivery latency: dialogs started at `perSecond` for `seconds` (one DIALOG_STARTED
 * event each), delivered to a receiver on 127.0.0.1 that verifies every signature. Latency is
 * the event's timestamp (taken in the committing transaction) to its arrival, on one clock,
 * after a warm-up of 2 s at the same rate (its figures are reported apart).
 */
export async function webhooksBench(
  server: ServerChild,
  token: string,
  perSecond: number,
  seconds: number,
): Promise<BenchResult> {
  const arrivals = new Map<string, number[]>();
  let secret = '';
  let rejected = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const body = new Webhook(secret).verify(Buffer.concat(chunks).toString('utf8'), headers) as { timestamp: string };
        const seen = arrivals.get(headers['webhook-id']) ?? [];
        seen.push(at - Date.parse(body.timestamp));
        arrivals.set(headers['webhook-id'], seen);
        res.writeHead(204).end();
      } catch {
        rejected++;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const { createWebhook } = await gql<{ createWebhook: { secret: string } }>(
      server.url,
      ADMIN_TOKEN,
      `mutation($u: String!) { createWebhook(input: { url: $u, types: [DIALOG_STARTED] }) { secret } }`,
      { u: url },
    );
    secret = createWebhook.secret;
    /** `count` starts at `perSecond`, open loop; then waits for their deliveries. Returns the seconds sending took. */
    const run = async (count: number): Promise<number> => {
      const started: Array<Promise<unknown>> = [];
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        // Open loop: each start is sent on schedule, whether the previous ones answered or not.
        const due = t0 + (i * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        started.push(gql(server.url, token, START));
      }
      await Promise.all(started);
      const sentSec = (performance.now() - t0) / 1000;
      const deadline = Date.now() + 60_000;
      while (arrivals.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return sentSec;
    };
    const duplicatesSoFar = (): number => [...arrivals.values()].reduce((n, l) => n + l.length - 1, 0);
    // A fresh process's first seconds (cold code, new connections to the receiver and the
    // database) build a backlog that takes a few seconds to drain: reported on their own, as
    // the other benchmarks measure a warmed-up server.
    const warmupEvents = perSecond * 2;
    await run(warmupEvents);
    const warmup = [...arrivals.values()].map((l) => l[0]);
    const warmupDelivered = arrivals.size;
    let duplicates = duplicatesSoFar();
    arrivals.clear();
    const total = perSecond * seconds;
    const sentSec = await run(total);
    const latencies = [...arrivals.values()].map((l) => l[0]);
    duplicates += duplicatesSoFar();
    return {
      name: 'webhooks',
      parameters: { eventsPerSecond: perSecond, events: total, receiver: '127.0.0.1, verifies signatures, answers 204' },
      figures: {
        'achieved events/s': round(total / sentSec, 1),
        delivered: arrivals.size,
        duplicates,
        'signature failures': rejected,
        'commit → receiver p50 ms': percentile(latencies, 50),
        'commit → receiver p99 ms': percentile(latencies, 99),
        'commit → receiver max ms': percentile(latencies, 100),
        [`warm-up: the fresh process's first ${warmupEvents} events, delivered`]: warmupDelivered,
        'warm-up: commit → receiver p50 ms': percentile(warmup, 50),
        'warm-up: commit → receiver max ms': percentile(warmup, 100),
      },
      targets: { delivered: 'all', duplicates: '0', p99: '< 1000 ms' },
      notes:
        'one process; each event is one startDialog (DIALOG_STARTED); latency = event timestamp → arrival (ms clock); measured after a 2 s warm-up at the same rate, reported apart',
    };
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
}
