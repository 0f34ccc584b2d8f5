import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { pgDate } from '../shared/pg-time.js';
import { liveFigures } from '../sl/live-figures.js';
import type { Metrics } from './metrics.js';

/** The label of dialogs and clocks without a group. */
const NO_GROUP = 'none';

interface QueueRow {
  what: 'queue' | 'clock';
  group_id: string | null;
  n: number;
  oldest: string | Date | null;
}

/** What knex's tarn pool reports (not part of MikroORM's types). */
interface PoolCounts {
  numUsed(): number;
  numPendingAcquires(): number;
}

/**
 * Registers the gauges read at scrape time: queued dialogs and their oldest wait per group and
 * for Help, and running SL clocks (one statement); the live SL share per group (one statement
 * each, over the last 15 minutes only); and the connection pool.
 */
export function registerDatabaseGauges(metrics: Metrics, rootEm: EntityManager, clock: Clock): void {
  metrics.beforeScrape(async () => {
    const em = rootEm.fork();
    const now = clock.now();
    const rows = await em.execute<QueueRow[]>(
      `select 'queue' as what, group_id, count(*)::int as n, min(queued_at) as oldest
         from dialogs where status = 'QUEUED' group by group_id
       union all
       select 'clock', sl_group_id, count(*)::int, null from dialogs where sl_kind is not null group by sl_group_id`,
    );
    metrics.queuedDialogs.reset();
    metrics.oldestQueuedSeconds.reset();
    metrics.runningSlClocks.reset();
    let helpQueued = 0;
    let helpOldest: Date | null = null;
    for (const row of rows) {
      const group = row.group_id ?? NO_GROUP;
      if (row.what === 'clock') {
        metrics.runningSlClocks.set({ group }, row.n);
        continue;
      }
      const oldest = pgDate(row.oldest);
      metrics.queuedDialogs.set({ group }, row.n);
      metrics.oldestQueuedSeconds.set({ group }, waitSeconds(now, oldest));
      helpQueued += row.n;
      if (oldest && (!helpOldest || oldest < helpOldest)) helpOldest = oldest;
    }
    metrics.helpQueued.set(helpQueued);
    metrics.helpOldestSeconds.set(waitSeconds(now, helpOldest));

    metrics.slPercent.reset();
    const groups = await em.execute<Array<{ id: string }>>('select id from groups where deleted_at is null order by id');
    for (const group of [null, ...groups.map((g) => g.id)]) {
      const { slPercentLast15m } = await liveFigures(em, group, now);
      if (slPercentLast15m !== null) metrics.slPercent.set({ group: group ?? 'all' }, slPercentLast15m);
    }

    const pool = (rootEm.getConnection().getKnex().client as { pool?: PoolCounts }).pool;
    if (pool) {
      metrics.dbPoolInUse.set(pool.numUsed());
      metrics.dbPoolWaiting.set(pool.numPendingAcquires());
    }
  });
}

function waitSeconds(now: Date, since: Date | null): number {
  return since ? Math.max(0, (now.getTime() - since.getTime()) / 1000) : 0;
}
