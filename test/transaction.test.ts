import type { EntityManager } from '@mikro-orm/postgresql';
import { createHook, executionAsyncId } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Group } from '../src/groups/group.entity.js';
import { insertGroup } from '../src/groups/group-record.js';
import { afterCommit, inTransaction, transactionRetries } from '../src/shared/transaction.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from './helpers/app.js';
import { setStatus, startDialog, transfer } from './helpers/dialogs.js';
import { eventually } from './helpers/eventually.js';
import { apiToken, createGroup, createOperator, login, unique } from './helpers/factories.js';
import { subscribe, wsClient } from './helpers/ws.js';

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

  it('fails, writing nothing, when a change is left to the unit of work', async () => {
    const name = unique('left-to-flush');
    const failed = await inTransaction(t.app.orm.em.fork(), async (tx) => {
      await tx.execute('update groups set name = name where false');
      // Persisted by default: only a flush, which never comes, would write it.
      tx.create(Group, { name, slFirstResponseSec: 60, slNextResponseSec: 60 });
    }).catch((error: unknown) => error);
    expect(String(failed)).toContain('entity changes left to a flush that never comes: create Group');
    const rows = await t.app.orm.em.fork().execute('select 1 from groups where name = ?', [name]);
    expect(rows).toHaveLength(0);
    // Positive control: the same group written as a statement commits.
    await inTransaction(t.app.orm.em.fork(), (tx) =>
      insertGroup(tx, { name, slFirstResponseSec: 60, slNextResponseSec: 60, createdAt: new Date() }),
    );
    expect(await t.app.orm.em.fork().execute('select 1 from groups where name = ?', [name])).toHaveLength(1);
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

describe('promise hooks', () => {
  // An AsyncLocalStorage in use turns on promise hooks for the whole process (Node before 24),
  // and every promise then carries an async id. Without hooks, a continuation runs under id 0.
  // (From Node 24 a storage needs no hooks, and this holds whatever the code does.)
  const continuationAsyncId = (): Promise<number> => Promise.resolve().then(() => executionAsyncId());

  it('stay off through the writes of every feature, queries and a subscription of the app in this process', async () => {
    const g = await createGroup(t.admin);
    await t.admin.ok(`mutation($id: ID!, $n: String!) { updateGroup(id: $id, input: { name: $n }) { id } }`, {
      id: g.id,
      n: unique('renamed'),
    });
    const op = await createOperator(t.admin, { groupIds: [g.id] });
    const session = t.client(await login(t.client(), op.email, op.password));
    await setStatus(session, op.id, 'ONLINE');
    const bot = t.client(await apiToken(t.admin, 'INTEGRATION'));
    const ws = wsClient(t.app.server.wsUrl, ADMIN_TOKEN);
    const queue = subscribe<{ queueChanged: { dialog: { id: string } } }>(
      ws,
      `subscription($g: ID) { queueChanged(groupId: $g) { dialog { id } } }`,
      { g: g.id },
    );
    await eventually(() => t.app.services.bus.handlerCount() > 0, 10_000, 'subscribed');
    const dialog = await transfer(bot, (await startDialog(bot)).id, { groupId: g.id });
    expect((await queue.next()).queueChanged.dialog.id).toBe(dialog.id);
    await t.admin.ok(`mutation($u: String!) { createWebhook(input: { url: $u, types: [DIALOG_STARTED] }) { secret } }`, {
      u: 'https://hooks.example.com/handover',
    });
    await t.admin.ok(`mutation($n: String!) { createScenario(name: $n) { id } }`, { n: unique('scenario') });
    queue.dispose();
    await ws.dispose();
    expect(await continuationAsyncId()).toBe(0);
    // Positive control: the probe sees promise hooks when some are on (on any Node version;
    // from Node 24 an AsyncLocalStorage no longer needs them).
    const hook = createHook({ init: () => undefined }).enable();
    expect(await continuationAsyncId()).not.toBe(0);
    hook.disable();
  });
});
