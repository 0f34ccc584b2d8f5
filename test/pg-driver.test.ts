import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planPerCall } from '../src/db/plan-per-call.js';
import { databaseUnavailable } from '../src/shared/db-errors.js';
import { executeAtCommit, inTransaction, transactionRetries, type AtCommit } from '../src/shared/transaction.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { watchRoundTrips } from './helpers/round-trips.js';

let t: TestApp;

// One pooled connection: the statements below and the check of what it prepared share it; a
// transaction that kept it would leave every later statement waiting.
beforeAll(async () => {
  t = await startTestApp({ config: { dbPoolSize: 1 } });
});
afterAll(() => t.stop());

interface Prepared {
  statement: string;
}

describe('raw SQL', () => {
  it('runs as a named prepared statement with its values bound: lists expand, dates keep their instant', async () => {
    const em = t.app.orm.em.fork();
    const sql =
      'select x, ?::timestamptz as at, ?::boolean as flag, ?::text as nothing from (values (1), (2), (3), (4)) v(x) where x in (?) order by x';
    const at = new Date('2026-05-01T08:00:00.123Z');
    for (const list of [
      [2, 4],
      [2, 4],
      [1, 2, 3],
    ]) {
      const rows = await em.execute<Array<{ x: number; at: string; flag: boolean; nothing: null }>>(sql, [
        at,
        true,
        undefined,
        list,
      ]);
      expect(rows.map((r) => r.x)).toEqual(list);
      expect(rows.map((r) => [new Date(r.at).toISOString(), r.flag, r.nothing])).toEqual(
        list.map(() => [at.toISOString(), true, null]),
      );
    }
    const prepared = await em.execute<Prepared[]>(`select statement from pg_prepared_statements where statement like ?`, [
      'select x, $1::timestamptz%',
    ]);
    // One per list length; the same text is parsed once.
    expect(prepared.map((p) => p.statement.match(/in \(([^)]*)\)/)?.[1]).sort()).toEqual(['$4, $5', '$4, $5, $6']);
  });

  it('a statement with a value it does not bind (bytes) runs as before, with the values written into it', async () => {
    const em = t.app.orm.em.fork();
    const sql = `select ?::bytea = decode('0102', 'hex') as same, ?::int as n`;
    expect(await em.execute(sql, [Buffer.from([1, 2]), 7])).toEqual([{ same: true, n: 7 }]);
    const prepared = await em.execute<Prepared[]>(`select statement from pg_prepared_statements where statement like ?`, [
      '%bytea = decode%',
    ]);
    expect(prepared).toEqual([]);
  });

  it('a statement planned per call runs with its values bound but is not kept prepared', async () => {
    const em = t.app.orm.em.fork();
    const window = planPerCall('select count(*)::int as n from generate_series(1, 10) s(i) where i > ? and i <= ?');
    for (const [from, to, n] of [
      [2, 5, 3],
      [0, 10, 10],
    ] as const) {
      expect(await em.execute(window, [from, to])).toEqual([{ n }]);
    }
    const kept = await em.execute<Prepared[]>(`select statement from pg_prepared_statements where statement like ?`, [
      '%generate_series(1, 10)%',
    ]);
    expect(kept).toEqual([]);
    // The same text without the mark is kept (the positive control).
    await em.execute('select count(*)::int as n from generate_series(1, 10) s(i) where i > ? and i <= ?', [2, 5]);
    const prepared = await em.execute<Prepared[]>(`select statement from pg_prepared_statements where statement like ?`, [
      '%generate_series(1, 10)%',
    ]);
    expect(prepared).toHaveLength(1);
  });

  it('a statement whose result columns a migration changed is prepared again: alone at once, in a transaction by running it again', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table prepared_probe (id int primary key, a text)');
    await em.execute(`insert into prepared_probe values (1, 'one')`);
    const read = 'select * from prepared_probe where id = ?';
    expect(await em.execute(read, [1])).toEqual([{ id: 1, a: 'one' }]);

    await em.execute(`alter table prepared_probe add column b text not null default 'two'`);
    expect(await em.execute(read, [1])).toEqual([{ id: 1, a: 'one', b: 'two' }]);

    await em.execute(`alter table prepared_probe add column c int not null default 3`);
    const retries = transactionRetries();
    const rows = await inTransaction(t.app.orm.em.fork(), (tx) => tx.execute(read, [1]));
    expect(rows).toEqual([{ id: 1, a: 'one', b: 'two', c: 3 }]);
    expect(transactionRetries()).toBe(retries + 1);
  });
});

/** This statement's backend and transaction, as PostgreSQL sees them. */
async function where(em: EntityManager): Promise<{ pid: number; xid: string }> {
  const [row] = await em.execute<Array<{ pid: number; xid: string }>>(
    'select pg_backend_pid() as pid, pg_current_xact_id()::text as xid',
  );
  return row;
}

describe('transactions', () => {
  it('run every statement on one connection, in one transaction, and give the connection back', async () => {
    const seen = await inTransaction(t.app.orm.em.fork(), async (tx) => [await where(tx), await where(tx)]);
    expect(seen[1]).toEqual(seen[0]);
    // Outside it, each statement is a transaction of its own.
    const em = t.app.orm.em.fork();
    expect((await where(em)).xid).not.toBe(seen[0].xid);
    expect((await where(em)).xid).not.toBe((await where(em)).xid);
  });

  it('roll back on an error: nothing written, the connection back in the pool', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table tx_probe (id int primary key)');
    const failed = await inTransaction(em, async (tx) => {
      await tx.execute('insert into tx_probe values (?)', [1]);
      throw new Error('changed my mind');
    }).catch((e: unknown) => e);
    expect(failed).toEqual(new Error('changed my mind'));
    await inTransaction(em, (tx) => tx.execute('insert into tx_probe values (?)', [2]));
    expect(await em.execute('select id from tx_probe order by id')).toEqual([{ id: 2 }]);
  });

  it('a COMMIT the server refuses fails the call and frees the connection', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table commit_probe (id int, unique (id) deferrable initially deferred)');
    const refused = await inTransaction(em, (tx) =>
      tx.execute('insert into commit_probe values (?), (?)', [1, 1]).then(() => 'inserted'),
    ).catch((e: unknown) => e);
    // Checked at COMMIT only: the insert itself went through.
    expect((refused as { code?: unknown }).code).toBe('23505');
    await inTransaction(em, (tx) => tx.execute('insert into commit_probe values (?)', [2]));
    expect(await em.execute('select id from commit_probe')).toEqual([{ id: 2 }]);
  });

  it('nest as savepoints: an inner rollback keeps the outer work', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table savepoint_probe (id int primary key)');
    await inTransaction(em, async (tx) => {
      await tx.execute('insert into savepoint_probe values (?)', [1]);
      const inner = await tx
        .transactional(async (nested) => {
          await nested.execute('insert into savepoint_probe values (?)', [2]);
          throw new Error('inner only');
        })
        .catch((e: unknown) => e);
      expect(inner).toEqual(new Error('inner only'));
      await tx.transactional((nested) => nested.execute('insert into savepoint_probe values (?)', [3]));
    });
    expect(await em.execute('select id from savepoint_probe order by id')).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('a query builder bound to the transaction runs in it (as the migrator binds its bookkeeping)', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table builder_probe (id int primary key)');
    // The row is not committed, and the pool's one connection is the transaction's: only a query
    // sent on it can answer.
    const inside = await inTransaction(em, async (tx) => {
      await tx.execute('insert into builder_probe values (?)', [7]);
      const query = tx.getKnex().select('id').from('builder_probe').transacting(tx.getTransactionContext()!);
      return tx.getConnection().execute<Array<{ id: number }>>(query);
    });
    expect(inside).toEqual([{ id: 7 }]);
  });

  it('BEGIN goes out with the first statement that has values; a transaction that runs nothing sends nothing', async () => {
    const em = t.app.orm.em.fork();
    const { sent, stop } = watchRoundTrips(em);
    try {
      // The first transaction on a connection prepares BEGIN; later ones bind it.
      await inTransaction(em, (tx) => tx.execute('select ?::int as n', [1]));
      sent.length = 0;
      const rows = await inTransaction(em, async (tx) => {
        const [first] = await tx.execute<Array<{ xid: string }>>('select pg_current_xact_id()::text as xid, ?::int as n', [1]);
        const [second] = await tx.execute<Array<{ xid: string }>>('select pg_current_xact_id()::text as xid');
        return [first.xid, second.xid];
      });
      expect(rows[0]).toBe(rows[1]);
      expect(sent).toEqual([
        'begin; select pg_current_xact_id()::text as xid, $1::int as n',
        'select pg_current_xact_id()::text as xid',
        'commit',
      ]);
      sent.length = 0;
      await inTransaction(em, async () => 'nothing to do');
      await inTransaction(em, async (tx) => tx.execute('select 1 as one'));
      // A statement without values goes alone, after BEGIN.
      expect(sent).toEqual(['begin', 'select 1 as one', 'commit']);
    } finally {
      stop();
    }
  });

  it('a statement held for COMMIT goes out with it in one round trip; its rows come once committed', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_probe (id int primary key)');
    const { sent, stop } = watchRoundTrips(em);
    try {
      // The first transaction on a connection prepares BEGIN and COMMIT; later ones bind them.
      await inTransaction(em, (tx) => tx.execute('select ?::int as n', [1]));
      sent.length = 0;
      const written = await inTransaction(em, async (tx) => {
        await tx.execute('insert into held_probe values (?)', [1]);
        return executeAtCommit<{ id: number }>(tx, { sql: 'insert into held_probe values (?) returning id', params: [2] });
      });
      expect(await written.rows).toEqual([{ id: 2 }]);
      expect(sent).toEqual([
        'begin; insert into held_probe values ($1)',
        'insert into held_probe values ($1) returning id; commit',
      ]);
      expect(await em.execute('select id from held_probe order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
      stop();
    }
  });

  it('a transaction that is one held statement sends it alone, in one round trip and still all or nothing', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_alone_probe (id int primary key)');
    await em.execute('create table held_alone_deferred (id int, unique (id) deferrable initially deferred)');
    const { sent, stop } = watchRoundTrips(em);
    try {
      const written = await inTransaction(em, async (tx) =>
        executeAtCommit<{ id: number }>(tx, { sql: 'insert into held_alone_probe values (?), (?) returning id', params: [1, 2] }),
      );
      expect(await written.rows).toEqual([{ id: 1 }, { id: 2 }]);
      expect(sent).toEqual(['insert into held_alone_probe values ($1), ($2) returning id']);
      // A statement that fails part way keeps nothing of its first part.
      let failing: AtCommit<object> | undefined;
      const failed = await inTransaction(em, async (tx) => {
        failing = executeAtCommit(tx, { sql: 'insert into held_alone_probe values (?), (?)', params: [3, 1] });
      }).catch((e: unknown) => e);
      expect((failed as { code?: unknown }).code).toBe('23505');
      expect(((await failing!.rows.catch((e: unknown) => e)) as { code?: unknown }).code).toBe('23505');
      // A check deferred to the commit still refuses it.
      const deferred = await inTransaction(em, async (tx) => {
        executeAtCommit(tx, { sql: 'insert into held_alone_deferred values (?), (?)', params: [1, 1] });
      }).catch((e: unknown) => e);
      expect((deferred as { code?: unknown }).code).toBe('23505');
      // The pool's one connection is free and in no transaction: the next one runs as usual.
      sent.length = 0;
      await inTransaction(em, async (tx) => {
        await tx.execute('insert into held_alone_probe values (?)', [4]);
        return executeAtCommit(tx, { sql: 'insert into held_alone_probe values (?)', params: [5] });
      });
      expect(sent).toEqual([
        'begin; insert into held_alone_probe values ($1)',
        'insert into held_alone_probe values ($1); commit',
      ]);
      expect(await em.execute('select id from held_alone_probe order by id')).toEqual([
        { id: 1 },
        { id: 2 },
        { id: 4 },
        { id: 5 },
      ]);
      expect(await em.execute('select id from held_alone_deferred')).toEqual([]);
    } finally {
      stop();
    }
  });

  it('a held statement goes out before any statement after it, so the order holds', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_order_probe (id int primary key)');
    const { sent, stop } = watchRoundTrips(em);
    try {
      const seen = await inTransaction(em, async (tx) => {
        const first = executeAtCommit(tx, { sql: 'insert into held_order_probe values (?)', params: [1] });
        const second = executeAtCommit(tx, { sql: 'insert into held_order_probe values (?)', params: [2] });
        const [read] = await tx.execute<Array<{ n: number }>>(
          'select count(*)::int as n from held_order_probe where id < ?',
          [10],
        );
        return { read, first, second };
      });
      expect(seen.read).toEqual({ n: 2 });
      expect(await seen.first.rows).toEqual([]);
      expect(await seen.second.rows).toEqual([]);
      expect(sent).toEqual([
        'begin; insert into held_order_probe values ($1)',
        'insert into held_order_probe values ($1)',
        'select count(*)::int as n from held_order_probe where id < $1',
        'commit',
      ]);
    } finally {
      stop();
    }
  });

  it("a held statement that fails rolls its transaction back: its error is the caller's, the connection goes back", async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_fail_probe (id int primary key)');
    await em.execute('insert into held_fail_probe values (1)');
    let written: AtCommit<object> | undefined;
    const failed = await inTransaction(em, async (tx) => {
      await tx.execute('insert into held_fail_probe values (?)', [2]);
      written = executeAtCommit(tx, { sql: 'insert into held_fail_probe values (?)', params: [1] });
    }).catch((e: unknown) => e);
    expect((failed as { code?: unknown }).code).toBe('23505');
    expect(((await written!.rows.catch((e: unknown) => e)) as { code?: unknown }).code).toBe('23505');
    // Nothing of it was kept, and the pool's one connection serves the next transaction.
    await inTransaction(em, (tx) => tx.execute('insert into held_fail_probe values (?)', [3]));
    expect(await em.execute('select id from held_fail_probe order by id')).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('a COMMIT refused after its held statement ran fails the call and frees the connection', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_commit_probe (id int, unique (id) deferrable initially deferred)');
    const refused = await inTransaction(em, async (tx) => {
      await tx.execute('select ?::int as n', [1]);
      return executeAtCommit(tx, { sql: 'insert into held_commit_probe values (?), (?)', params: [1, 1] });
    }).catch((e: unknown) => e);
    // Checked at COMMIT only: the insert itself went through.
    expect((refused as { code?: unknown }).code).toBe('23505');
    await inTransaction(em, (tx) => tx.execute('insert into held_commit_probe values (?)', [2]));
    expect(await em.execute('select id from held_commit_probe')).toEqual([{ id: 2 }]);
  });

  it('a transaction that throws after holding a statement never runs it; its rows reject', async () => {
    const em = t.app.orm.em.fork();
    await em.execute('create table held_rollback_probe (id int primary key)');
    let written: AtCommit<object> | undefined;
    const failed = await inTransaction(em, async (tx) => {
      await tx.execute('insert into held_rollback_probe values (?)', [1]);
      written = executeAtCommit(tx, { sql: 'insert into held_rollback_probe values (?)', params: [2] });
      throw new Error('changed my mind');
    }).catch((e: unknown) => e);
    expect(failed).toEqual(new Error('changed my mind'));
    await expect(written!.rows).rejects.toThrow('rolled back');
    expect(await em.execute('select id from held_rollback_probe')).toEqual([]);
  });

  it('a first statement the server cannot parse leaves it unprepared: once it can, it runs', async () => {
    const em = t.app.orm.em.fork();
    const read = 'select id from later_probe where id = ?';
    const failed = await inTransaction(em, (tx) => tx.execute(read, [1])).catch((e: unknown) => e);
    expect((failed as { code?: unknown }).code).toBe('42P01');
    await em.execute('create table later_probe (id int primary key)');
    await em.execute('insert into later_probe values (1)');
    expect(await inTransaction(em, (tx) => tx.execute(read, [1]))).toEqual([{ id: 1 }]);
  });

  it('a connection killed inside a transaction fails that call only; the pool replaces it', async () => {
    const admin = new pg.Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      const killed = await inTransaction(t.app.orm.em.fork(), async (tx) => {
        const { pid } = await where(tx);
        await admin.query('select pg_terminate_backend($1)', [pid]);
        return where(tx);
      }).catch((e: unknown) => e);
      expect(killed).toBeInstanceOf(Error);
      const after = await inTransaction(t.app.orm.em.fork(), (tx) => where(tx));
      expect(after.pid).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
  });
});

describe('a statement the server refuses', () => {
  it('more values than a statement can bind (08P01) is the statement’s failure, not the database away; the next statement runs', async () => {
    const em = t.app.orm.em.fork();
    const values = Array.from({ length: 70_000 }, (_, i) => i);
    const error: unknown = await em.execute('select 1 where 1 in (?)', [values]).then(
      () => null,
      (e: unknown) => e,
    );
    expect((error as { code?: string } | null)?.code).toBe('08P01');
    expect(databaseUnavailable(error)).toBe(false);
    // The server ends the connection it refused such a message on; the pool's next one serves.
    expect(await em.execute('select 1 as one')).toEqual([{ one: 1 }]);
  });
});
