import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApp } from '../src/app.js';
import { initOrm, migrate } from '../src/db/orm.js';
import { ADMIN_TOKEN, testConfig } from './helpers/app.js';
import { createEmptyDatabase, type TestDatabase } from './helpers/database.js';
import { GraphqlClient } from './helpers/gql.js';
import { migrationNames, migrationState, publicTables } from './helpers/migrations.js';

let db: TestDatabase;

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} hung`)), ms).unref())]);
}

beforeAll(async () => {
  db = await createEmptyDatabase(inject('pgServerUrl'));
});
afterAll(() => db?.drop());

describe('migrations with a pool of one connection (DB_POOL_SIZE=1)', () => {
  it('two processes migrate an empty database at once, then the app serves on one connection', async () => {
    const url = db.url;
    expect(await publicTables(url)).toEqual([]);
    const orms = await Promise.all([initOrm({ databaseUrl: url, poolSize: 1 }), initOrm({ databaseUrl: url, poolSize: 1 })]);
    try {
      const applied = await within(20_000, 'migrate', Promise.all(orms.map((orm) => migrate(orm))));
      // One of them applied everything; the other found nothing left to do.
      const all = await migrationNames();
      expect(all.length).toBeGreaterThan(0);
      expect([...applied].sort((a, b) => a.length - b.length)).toEqual([[], all]);
    } finally {
      await Promise.all(orms.map((orm) => orm.close(true)));
    }
    expect(await migrationState(url)).toEqual({ executed: await migrationNames(), pending: [], missingTables: [] });

    const app = await within(20_000, 'start', startApp({ config: testConfig({ dbPoolSize: 1 }), databaseUrl: url, port: 0 }));
    try {
      const client = new GraphqlClient(app.url, ADMIN_TOKEN);
      await client.ok(`mutation { createGroup(input: { name: "One", slFirstResponseSec: 1, slNextResponseSec: 1 }) { id } }`);
      expect((await client.ok(`{ groups { name } }`)).groups).toEqual([{ name: 'One' }]);
    } finally {
      await app.stop();
    }
  }, 60_000);
});
