import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { eventually } from './eventually.js';

/** The URL of `database` on the server at `serverUrl`. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database cloned from the run's template. The name carries the vitest
 * main process id (the parent of this worker) so the run's teardown can sweep leftovers.
 */
export async function createTestDatabase(serverUrl: string, template: string): Promise<TestDatabase> {
  const name = testDatabaseName();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // Cloning needs the template to be idle; parallel clones can collide briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  return testDatabase(serverUrl, name);
}

/** A fresh database with nothing in it: no tables, no migrations. */
export async function createEmptyDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = testDatabaseName();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  return testDatabase(serverUrl, name);
}

function testDatabaseName(): string {
  return `handover_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
}

function testDatabase(serverUrl: string, name: string): TestDatabase {
  return {
    name,
    url: databaseUrl(serverUrl, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

/** Runs `work` with `count` connections of its own to `url`, ended afterwards. */
export async function withConnections<T>(url: string, count: number, work: (clients: pg.Client[]) => Promise<T>): Promise<T> {
  const clients = Array.from({ length: count }, () => new pg.Client({ connectionString: url }));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    return await work(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** Whether some session on `client`'s database is waiting for a lock now. */
export async function lockAwaited(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return Number(rows[0].n) > 0;
}

/** A table the database answers no statement on, as during a restart or a failover. */
export interface TableOutage {
  /**
   * Until `done` holds, ends every session waiting for the table, as PostgreSQL does when it
   * shuts down (its statement fails with 57P01 and its connection closes).
   */
  dropWaitingUntil(done: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** The table answers again. */
  end(): Promise<void>;
}

/**
 * Holds an exclusive lock on `table` from `client` (a connection of its own to the server's
 * database), so every statement that touches it waits until `dropWaitingUntil` fails it.
 */
export async function tableOutage(client: pg.Client, table: string): Promise<TableOutage> {
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  const dropWaiting = async (): Promise<void> => {
    // A transaction reads the sessions' activity once and keeps it: read it afresh.
    await client.query('select pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where datname = current_database() and pg_backend_pid() = any(pg_blocking_pids(pid))`,
    );
    for (const { pid } of rows) await client.query('select pg_terminate_backend($1)', [pid]);
  };
  return {
    dropWaitingUntil: (done, what, timeoutMs = 20_000) =>
      eventually(
        async () => {
          if (await done()) return true;
          await dropWaiting();
          return false;
        },
        timeoutMs,
        what,
      ),
    end: async () => {
      await client.query('rollback');
    },
  };
}
