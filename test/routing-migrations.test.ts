import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initOrm } from '../src/db/orm.js';
import { createEmptyDatabase, type TestDatabase } from './helpers/database.js';
import { migrationNames } from './helpers/migrations.js';

const TYPED = 'Migration20261201000400_typed_transfers';
const ONE_OPEN = 'Migration20261201000410_one_open_dialog_per_chat';
const ROUTING_FEATURES = 'Migration20261202000000_routing_features';
let db: TestDatabase;
let db2: TestDatabase;
let db3: TestDatabase;

beforeAll(async () => {
  db = await createEmptyDatabase(inject('pgServerUrl'));
  db2 = await createEmptyDatabase(inject('pgServerUrl'));
  db3 = await createEmptyDatabase(inject('pgServerUrl'));
});
afterAll(async () => {
  await db?.drop();
  await db2?.drop();
  await db3?.drop();
});

describe('typed transfer reasons', () => {
  it('splits old comma-joined reasons into the list and moves the note (commas and all) to its own column', async () => {
    const names = await migrationNames();
    const before = names[names.indexOf(TYPED) - 1];
    const orm = await initOrm({ databaseUrl: db.url, poolSize: 1 });
    try {
      await orm.getMigrator().up({ to: before });
      const conn = orm.em.getConnection();
      await conn.execute(
        `insert into dialogs (id, status, created_at) values ('00000000-0000-4000-8000-000000000001', 'BOT', now())`,
      );
      const old: Array<[number, string | null]> = [
        [1, null],
        [2, 'group_empty'],
        [3, 'operator_offline,group_at_capacity,no_operator_available'],
        [4, 'no_target,note:stuck'],
        [5, 'note:parser crashed, then: note:retry,group_empty'],
        [6, 'operator_at_capacity,note:a,b'],
      ];
      for (const [n, reason] of old) {
        await conn.execute(
          `insert into dialog_transfers (id, dialog_id, at, kind, outcome, reason)
           values (?, '00000000-0000-4000-8000-000000000001', now(), 'TRANSFER', 'QUEUED', ?)`,
          [`00000000-0000-4000-8000-00000000010${n}`, reason],
        );
      }
      await orm.getMigrator().up();
      const rows = await conn.execute<Array<{ reasons: string[]; note: string | null }>>(
        'select reasons, note from dialog_transfers order by id',
      );
      expect(rows).toEqual([
        { reasons: [], note: null },
        { reasons: ['group_empty'], note: null },
        { reasons: ['operator_offline', 'group_at_capacity', 'no_operator_available'], note: null },
        { reasons: ['no_target'], note: 'stuck' },
        { reasons: [], note: 'parser crashed, then: note:retry,group_empty' },
        { reasons: ['operator_at_capacity'], note: 'a,b' },
      ]);
    } finally {
      await orm.close(true);
    }
  });
});

describe('one open dialog per externalId', () => {
  it('stops on existing duplicates without changing them, and applies once they are closed', async () => {
    const names = await migrationNames();
    const before = names[names.indexOf(ONE_OPEN) - 1];
    const orm = await initOrm({ databaseUrl: db2.url, poolSize: 1 });
    try {
      await orm.getMigrator().up({ to: before });
      const conn = orm.em.getConnection();
      for (const n of [1, 2, 3]) {
        await conn.execute(`insert into dialogs (id, external_id, status, created_at) values (?, 'chat-1', 'BOT', now())`, [
          `00000000-0000-4000-8000-00000000000${n}`,
        ]);
      }
      await expect(orm.getMigrator().up()).rejects.toThrow(/1 externalId value\(s\) have more than one open dialog/);
      expect(await conn.execute(`select count(*)::int as n from dialogs where status = 'BOT'`)).toEqual([{ n: 3 }]);

      await conn.execute(
        `update dialogs set status = 'CLOSED', closed_at = now() where id <> '00000000-0000-4000-8000-000000000001'`,
      );
      expect(await orm.getMigrator().up({ to: ONE_OPEN })).toEqual([expect.objectContaining({ name: ONE_OPEN })]);
    } finally {
      await orm.close(true);
    }
  });
});

describe('routing features', () => {
  it('counts old drains and takes as dialogs that left the queue (the wait estimate), nothing else', async () => {
    const names = await migrationNames();
    const before = names[names.indexOf(ROUTING_FEATURES) - 1];
    const orm = await initOrm({ databaseUrl: db3.url, poolSize: 1 });
    try {
      await orm.getMigrator().up({ to: before });
      const conn = orm.em.getConnection();
      await conn.execute(
        `insert into dialogs (id, status, created_at) values ('00000000-0000-4000-8000-000000000001', 'BOT', now())`,
      );
      for (const [n, kind] of [
        [1, 'TRANSFER'],
        [2, 'DRAIN'],
        [3, 'TAKE'],
        [4, 'REROUTE'],
      ] as const) {
        await conn.execute(
          `insert into dialog_transfers (id, dialog_id, at, kind, outcome)
           values (?, '00000000-0000-4000-8000-000000000001', now(), ?, 'QUEUED')`,
          [`00000000-0000-4000-8000-00000000010${n}`, kind],
        );
      }
      await orm.getMigrator().up({ to: ROUTING_FEATURES });
      const rows = await conn.execute(`select kind, from_queue from dialog_transfers order by id`);
      expect(rows).toEqual([
        { kind: 'TRANSFER', from_queue: false },
        { kind: 'DRAIN', from_queue: true },
        { kind: 'TAKE', from_queue: true },
        { kind: 'REROUTE', from_queue: false },
      ]);
      const [dialog] = await conn.execute(`select priority from dialogs`);
      expect(dialog).toEqual({ priority: 0 });
    } finally {
      await orm.close(true);
    }
  });
});
