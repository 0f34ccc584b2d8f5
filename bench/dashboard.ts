import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_TOKEN, startServer } from './lib/env.js';
import { gql } from './lib/http.js';
import type { BenchResult } from './lib/results.js';
import { seedGroups, seedOperators, withDb } from './lib/seed.js';
import { percentile, round } from './lib/stats.js';

const GROUPS_QUERY = `{ groups { id operators { id activeDialogCount groups { id } } } }`;
const DIALOGS_QUERY = `{ dialogs(first: 100) { edges { node { id operator { groups { id } } group { operators { id } } messages { id } } } } }`;

const seed = (databaseUrl: string): Promise<void> =>
  withDb(databaseUrl, async (db) => {
    const groups = await seedGroups(db, 50, 'dash-');
    // 500 operators, each in two groups: 20 members per group.
    await seedOperators(db, 500, groups, 300, 'dash');
    await db.query(
      `insert into dialogs (id, status, group_id, operator_id, created_at, handed_over_at, assigned_at)
       select gen_random_uuid(), 'ASSIGNED', g.id, o.id, now() - (i || ' seconds')::interval, now(), now()
         from generate_series(1, 100) i
         join lateral (select id from groups where name like 'dash-%' order by id offset (i % 50) limit 1) g on true
         join lateral (select operator_id as id from group_members where group_id = g.id order by operator_id limit 1) o on true`,
    );
    await db.query(
      `update operators o set active_dialog_count = (select count(*) from dialogs d where d.operator_id = o.id and d.status = 'ASSIGNED')`,
    );
    await db.query(
      `insert into messages (id, dialog_id, author, text, created_at)
       select gen_random_uuid(), d.id, 'CLIENT', 'hello', now() from dialogs d, generate_series(1, 3)`,
    );
  });

/**
 * Seeds the database (migrated by an in-process app), then counts the SQL statements one
 * request of each query runs, exactly, with that app's query hook.
 */
async function seedAndCount(databaseUrl: string, queries: readonly string[]): Promise<number[]> {
  let statements = 0;
  const app = await startApp({
    config: { ...loadConfig({ ADMIN_TOKEN, PORT: '0', SWEEP_INTERVAL_MS: '60000' }) },
    databaseUrl,
    onQuery: () => {
      statements++;
    },
  });
  try {
    await seed(databaseUrl);
    const counts: number[] = [];
    for (const query of queries) {
      await gql(app.url, ADMIN_TOKEN, query); // warm-up
      statements = 0;
      await gql(app.url, ADMIN_TOKEN, query);
      counts.push(statements);
    }
    return counts;
  } finally {
    await app.stop();
  }
}

/**
 * Dashboard queries: statements per request (counted in-process, where the ORM's query hook
 * sees each one), and latency over HTTP against the server as its own process, without that
 * hook's logging.
 */
export async function dashboardBench(databaseUrl: string, requests: number): Promise<BenchResult> {
  const [groupStatements, dialogStatements] = await seedAndCount(databaseUrl, [GROUPS_QUERY, DIALOGS_QUERY]);
  const server = await startServer(databaseUrl, { SWEEP_INTERVAL_MS: '60000' });
  try {
    const latency = async (query: string): Promise<{ p50: number; p99: number }> => {
      for (let i = 0; i < 10; i++) await gql(server.url, ADMIN_TOKEN, query); // warm-up
      const times: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t0 = performance.now();
        await gql(server.url, ADMIN_TOKEN, query);
        times.push(performance.now() - t0);
      }
      return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)) };
    };
    const groups = await latency(GROUPS_QUERY);
    const dialogs = await latency(DIALOGS_QUERY);
    return {
      name: 'dashboard queries',
      parameters: { groups: 50, operatorsPerGroup: 20, dialogs: 100, requests },
      figures: {
        'groups: SQL statements per request': groupStatements,
        'groups: p50 ms': groups.p50,
        'groups: p99 ms': groups.p99,
        'dialogs(first: 100): SQL statements per request': dialogStatements,
        'dialogs(first: 100): p50 ms': dialogs.p50,
        'dialogs(first: 100): p99 ms': dialogs.p99,
      },
      targets: { statements: 'a small constant' },
      notes: 'statements counted by an in-process app; latency measured against the server as its own process',
    };
  } finally {
    await server.stop();
  }
}
