import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ADMIN_TOKEN, startServer } from './lib/env.js';
import { gql } from './lib/http.js';
import type { BenchResult } from './lib/results.js';
import { seedGroups, seedOperators, withDb } from './lib/seed.js';
import { quietApp, settledApp } from './lib/quiet-app.js';
import { percentile, round } from './lib/stats.js';

const GROUPS_QUERY = `{ groups { id operators { id activeDialogCount groups { id } } } }`;
const DIALOGS_QUERY = `{ dialogs(first: 100) { edges { node { id operator { groups { id } } group { operators { id } } messages { id } } } } }`;
/** A dialog list as an operator's panel shows it: no histories, just the newest message and the counts. */
const LIST_QUERY = `{ dialogs(first: 100, orderBy: LAST_MESSAGE_DESC) { edges { node {
  id lastMessage { id text author } messageCount unreadCount } } } }`;
const LIST_OPERATOR = { email: 'dash-list@bench.local', password: 'bench list password' };

/**
 * A session of an operator in every seeded group (so the list holds all 100 dialogs) who has
 * read the first message of each.
 */
async function listOperatorToken(url: string, databaseUrl: string): Promise<string> {
  const { createOperator } = await gql<{ createOperator: { id: string } }>(
    url,
    ADMIN_TOKEN,
    `mutation($e: String!, $p: String!) { createOperator(input: { firstName: "List", lastName: "Bench", email: $e, password: $p }) { id } }`,
    { e: LIST_OPERATOR.email, p: LIST_OPERATOR.password },
  );
  await withDb(databaseUrl, async (db) => {
    await db.query(
      `insert into group_members (group_id, operator_id, created_at) select id, $1, now() from groups where name like 'dash-%'`,
      [createOperator.id],
    );
    await db.query(
      `insert into dialog_reads (operator_id, dialog_id, last_read_seq, read_at)
       select $1, dialog_id, min(seq), now() from messages group by dialog_id`,
      [createOperator.id],
    );
  });
  return loginToken(url);
}

async function loginToken(url: string): Promise<string> {
  const { login } = await gql<{ login: { token: string } }>(
    url,
    '',
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`,
    { e: LIST_OPERATOR.email, p: LIST_OPERATOR.password },
  );
  return login.token;
}

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
    await db.query(`update dialogs d set last_message_seq = (select max(seq) from messages m where m.dialog_id = d.id)`);
  });

/**
 * Seeds the database (migrated by an in-process app), then counts the SQL statements one
 * request of each query runs, exactly, with that app's query hook; each query with its token.
 */
async function seedAndCount(
  databaseUrl: string,
  queries: ReadonlyArray<{ query: string; token: (url: string) => Promise<string> }>,
): Promise<number[]> {
  let statements = 0;
  const app = await startApp({
    // In this process: its request lines would land in the benchmark's own output.
    config: { ...loadConfig({ ADMIN_TOKEN, PORT: '0', SWEEP_INTERVAL_MS: '60000', LOG_LEVEL: 'warn' }) },
    databaseUrl,
    onQuery: () => {
      statements++;
    },
  });
  try {
    await quietApp(app);
    await seed(databaseUrl);
    const counts: number[] = [];
    for (const { query, token } of queries) {
      const bearer = await token(app.url);
      await gql(app.url, bearer, query); // warm-up
      // The bus reads what the token's mutations logged in the background: not this request's.
      await settledApp(app);
      statements = 0;
      await gql(app.url, bearer, query);
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
  const admin = (): Promise<string> => Promise.resolve(ADMIN_TOKEN);
  const [groupStatements, dialogStatements, listStatements] = await seedAndCount(databaseUrl, [
    { query: GROUPS_QUERY, token: admin },
    { query: DIALOGS_QUERY, token: admin },
    { query: LIST_QUERY, token: (url) => listOperatorToken(url, databaseUrl) },
  ]);
  const server = await startServer(databaseUrl, { SWEEP_INTERVAL_MS: '60000' });
  try {
    const latency = async (query: string, token: string): Promise<{ p50: number; p99: number }> => {
      for (let i = 0; i < 10; i++) await gql(server.url, token, query); // warm-up
      const times: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t0 = performance.now();
        await gql(server.url, token, query);
        times.push(performance.now() - t0);
      }
      return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)) };
    };
    const groups = await latency(GROUPS_QUERY, ADMIN_TOKEN);
    const dialogs = await latency(DIALOGS_QUERY, ADMIN_TOKEN);
    const list = await latency(LIST_QUERY, await loginToken(server.url));
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
        'dialog list (lastMessage, counts, unread) as an operator: SQL statements per request': listStatements,
        'dialog list: p50 ms': list.p50,
        'dialog list: p99 ms': list.p99,
      },
      targets: { statements: 'a small constant' },
      notes: 'statements counted by an in-process app; latency measured against the server as its own process',
    };
  } finally {
    await server.stop();
  }
}
