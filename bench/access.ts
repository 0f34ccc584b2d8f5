import pg from 'pg';
import { initOrm } from '../src/db/orm.js';
import { inTransaction } from '../src/shared/transaction.js';
import type { BenchResult } from './lib/results.js';
import { round } from './lib/stats.js';

/** A statement that reads one index page: the client's cost dominates, as on the routing path. */
const STATEMENT = `select id from dialogs where id = '00000000-0000-0000-0000-000000000000'`;
/** The same with its value bound, as the server's statements have (many values, on the routing path). */
const BOUND = `select id from dialogs where id = ? and status <> ? and created_at < ? and priority > ?`;
const BOUND_PG = `select id from dialogs where id = $1 and status <> $2 and created_at < $3 and priority > $4`;
const BOUND_VALUES = ['00000000-0000-0000-0000-000000000000', 'CLOSED', new Date('2030-01-01T00:00:00Z'), -1];

/** This process's CPU (user + system) per call of `run`, in µs, after a warm-up of the same size. */
async function cpuPerCall(calls: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < calls; i++) await run();
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run();
  const used = process.cpuUsage(before);
  return round((used.user + used.system) / calls, 1);
}

/**
 * What the server's data access costs on the client side, per call, measured in this process:
 * one statement and one single-statement transaction, through `pg` directly and through the
 * ORM the server uses. Shows how much of the server's CPU per routing decision is the access
 * path rather than SQL or GraphQL.
 */
export async function accessBench(databaseUrl: string, calls: number): Promise<BenchResult> {
  const orm = await initOrm({ databaseUrl, poolSize: 2 });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const pgStatement = await cpuPerCall(calls, () => client.query(STATEMENT));
    const ormStatement = await cpuPerCall(calls, () => orm.em.fork().execute(STATEMENT));
    const pgBound = await cpuPerCall(calls, () =>
      client.query({
        name: 'access_bound',
        text: BOUND_PG,
        values: BOUND_VALUES,
      }),
    );
    const ormBound = await cpuPerCall(calls, () => orm.em.fork().execute(BOUND, BOUND_VALUES));
    const pgTransaction = await cpuPerCall(calls, async () => {
      await client.query('begin');
      await client.query(STATEMENT);
      await client.query('commit');
    });
    // The product's transactions: inTransaction, not em.transactional (src/shared/transaction.ts says why).
    const ormTransaction = await cpuPerCall(calls, () => inTransaction(orm.em.fork(), (tx) => tx.execute(STATEMENT)));
    return {
      name: 'data access',
      parameters: { calls },
      figures: {
        'pg: µs CPU per statement': pgStatement,
        'ORM: µs CPU per statement (em.execute)': ormStatement,
        'pg: µs CPU per statement with 4 values (named prepared statement)': pgBound,
        'ORM: µs CPU per statement with 4 values (em.execute, prepared)': ormBound,
        'pg: µs CPU per transaction (begin, statement, commit)': pgTransaction,
        'ORM: µs CPU per transaction (inTransaction, one statement)': ormTransaction,
      },
      notes: 'client-side CPU of the bench process; the server pays the same per statement and per transaction',
    };
  } finally {
    await client.end();
    await orm.close();
  }
}
