import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit, inTransaction, transactionRetries } from '../src/shared/transaction.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createGroup, unique } from './helpers/factories.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.stop());

describe('inTransaction', () => {
  it('retries a transaction that Postgres aborted to break a deadlock', async () => {
    const a = await createGroup(t.admin);
    const b = await createGroup(t.admin);
    let attempts = 0;
    let arrived = 0;
    let release: () => void = () => {};
    const bothLocked = new Promise<void>((resolve) => (release = resolve));
    const retriesBefore = transactionRetries();
    const retryMetric = async (): Promise<number> =>
      (await t.app.services.metrics.transactionRetries.get()).values.reduce((sum, v) => sum + v.value, 0);
    const retriesCountedBefore = await retryMetric();
    let committed = 0;
    const lockInOrder = (first: string, second: string): Promise<void> =>
      inTransaction(t.app.orm.em.fork(), async (tx) => {
        attempts++;
        afterCommit(tx, () => committed++);
        await tx.execute('select id from groups where id = ? for update', [first]);
        // First attempts meet here, so each holds one row and waits for the other's.
        if (++arrived === 2) release();
        if (arrived <= 2) await bothLocked;
        await tx.execute('update groups set name = name where id = ?', [second]);
      });
    await Promise.all([lockInOrder(a.id, b.id), lockInOrder(b.id, a.id)]);
    expect(attempts).toBe(3); // one of the two was aborted once and ran again
    expect(transactionRetries() - retriesBefore).toBe(1);
    expect((await retryMetric()) - retriesCountedBefore).toBe(1);
    // The aborted attempt's after-commit work never ran; each committed one's ran once.
    expect(committed).toBe(2);
  });

  it('runs after-commit work only when the transaction commits', async () => {
    const ran: string[] = [];
    await inTransaction(t.app.orm.em.fork(), async (tx) => {
      afterCommit(tx, () => ran.push('committed'));
      await tx.execute('select 1');
    });
    const failed = await inTransaction(t.app.orm.em.fork(), async (tx) => {
      afterCommit(tx, () => ran.push('rolled back'));
      throw new Error('work failed');
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(Error);
    expect(ran).toEqual(['committed']);
  });

  it('nests as a savepoint: failed inner work is undone, the outer work commits', async () => {
    const name = unique('nested');
    const insert = (tx: EntityManager, suffix: string): Promise<unknown> =>
      tx.execute(
        `insert into groups (id, name, sl_first_response_sec, sl_next_response_sec, created_at) values (gen_random_uuid(), ?, 60, 60, now())`,
        [`${name}-${suffix}`],
      );
    await inTransaction(t.app.orm.em.fork(), async (tx) => {
      await insert(tx, 'outer');
      const inner = await inTransaction(tx, async (nested) => {
        await insert(nested, 'inner');
        throw new Error('inner work failed');
      }).catch((error: unknown) => error);
      expect(inner).toBeInstanceOf(Error);
      await insert(tx, 'after');
    });
    const rows = await t.app.orm.em
      .fork()
      .execute<Array<{ name: string }>>('select name from groups where name like ? order by name', [`${name}-%`]);
    expect(rows.map((r) => r.name)).toEqual([`${name}-after`, `${name}-outer`]);
  });
});
