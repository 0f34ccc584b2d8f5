import { startServer, type PgServer } from './lib/env.js';
import { integrationToken } from './lib/http.js';
import type { BenchResult } from './lib/results.js';
import { seedGroups, withDb } from './lib/seed.js';
import { median, round } from './lib/stats.js';
import { load, productIteration, routingDatabase, type LoadResult } from './routing.js';

export interface ScaleConfig {
  readonly clients: number;
  readonly durationMs: number;
  readonly rounds: number;
  /** Closed dialogs of the history. */
  readonly closed: number;
  /** Queued dialogs of the history, aimed at a group nobody is in. */
  readonly queued: number;
  readonly serverEnv: Record<string, string>;
}

/** Closed dialogs, and queued ones no operator can take: this load only assigns, so the queue stays as seeded. */
async function addHistory(db: string, group: string, closed: number, queued: number): Promise<void> {
  await withDb(db, async (c) => {
    const [ghost] = await seedGroups(c, 1, 'overflow-');
    await c.query(
      `insert into dialogs (id, status, group_id, created_at, handed_over_at, closed_at)
       select gen_random_uuid(), 'CLOSED', $1, now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval, now()
         from generate_series(1, $2) i`,
      [group, closed],
    );
    await c.query(
      `insert into dialogs (id, status, group_id, created_at, handed_over_at, queued_at, sl_kind, sl_started_at, sl_deadline, sl_group_id)
       select gen_random_uuid(), 'QUEUED', $1, now(), now(), now() - (i || ' ms')::interval, 'FIRST_RESPONSE', now(), now() + interval '1 hour', $1
         from generate_series(1, $2) i`,
      [ghost, queued],
    );
  });
}

/**
 * Routing on a database with history against the same load on one without, each database with
 * a server of its own, in rounds of the two in turn: this machine's speed drifts over minutes,
 * so the ratio is taken within each round and the figure is the median over the rounds.
 */
export async function scaleBench(pgServer: PgServer, cfg: ScaleConfig): Promise<BenchResult> {
  const empty = await routingDatabase(pgServer, cfg.serverEnv);
  const history = await routingDatabase(pgServer, cfg.serverEnv);
  try {
    await addHistory(history.db, history.groups[0], cfg.closed, cfg.queued);
    // Both processes start again on their analyzed databases, as after a deploy.
    for (const side of [empty, history]) {
      await withDb(side.db, (c) => c.query('analyze'));
      await side.server.stop();
      side.server = await startServer(side.db, cfg.serverEnv);
    }
    const iterations = await Promise.all(
      [empty, history].map(async (side) => productIteration(side.server.url, await integrationToken(side.server), side.groups)),
    );
    const run = (side: number): Promise<LoadResult> => load(cfg.clients, cfg.durationMs, iterations[side]);
    // Warm both (compiled code, pools) before measuring.
    await run(0);
    await run(1);
    const rounds: Array<{ empty: LoadResult; history: LoadResult }> = [];
    for (let r = 0; r < cfg.rounds; r++) {
      // Which side goes first alternates, so neither always runs on the other's leftovers.
      if (r % 2 === 0) {
        const first = await run(0);
        rounds.push({ empty: first, history: await run(1) });
      } else {
        const first = await run(1);
        rounds.push({ empty: await run(0), history: first });
      }
    }

    const ratios = rounds.map((r) => round(r.history.p50Ms / r.empty.p50Ms));
    const ratio = median(ratios);
    const at = rounds[ratios.indexOf(ratio)];
    return {
      name: 'routing at scale',
      parameters: { clients: cfg.clients, closedDialogs: cfg.closed, queuedDialogs: cfg.queued, rounds: cfg.rounds },
      figures: {
        'dialogs/s': at.history.perSecond,
        'p50 ms': at.history.p50Ms,
        'p99 ms': at.history.p99Ms,
        'empty-database dialogs/s': at.empty.perSecond,
        'empty-database p50 ms': at.empty.p50Ms,
        'p50 ratio to empty database': ratio,
        'p50 ratio, every round': ratios.join(' / '),
      },
      ratio,
      targets: { 'p50 ratio to empty': '≤ 1.3' },
      notes: 'the round with the median ratio; each round runs both databases, which goes first alternating',
    };
  } finally {
    for (const { server } of [empty, history])
      if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
  }
}
