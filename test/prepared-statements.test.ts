import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, transactionRetries } from '../src/shared/transaction.js';
import { startTestApp, type TestApp } from './helpers/app.js';

let t: TestApp;
// One pooled connection: the statements below and the check of what it prepared share it.
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
