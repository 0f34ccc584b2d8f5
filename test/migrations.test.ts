import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApp } from '../src/app.js';
import { initOrm, migrate } from '../src/db/orm.js';
import { ADMIN_TOKEN, testConfig } from './helpers/app.js';
import { databaseUrl } from './helpers/database.js';
import { GraphqlClient } from './helpers/gql.js';

const serverUrl = inject('pgServerUrl');
const name = `handover_t_${process.ppid}_${randomBytes(4).toString('hex')}`;
const url = databaseUrl(serverUrl, name);

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} hung`)), ms).unref())]);
}

beforeAll(() => admin((c) => c.query(`create database "${name}"`)));
afterAll(() => admin((c) => c.query(`drop database if exists "${name}" with (force)`)));

describe('migrations with a pool of one connection (DB_POOL_SIZE=1)', () => {
  it('two processes migrate an empty database at once, then the app serves on one connection', async () => {
    const orms = await Promise.all([initOrm({ databaseUrl: url, poolSize: 1 }), initOrm({ databaseUrl: url, poolSize: 1 })]);
    try {
      const applied = await within(20_000, 'migrate', Promise.all(orms.map((orm) => migrate(orm))));
      // One of them applied everything; the other found nothing left to do.
      expect(applied.map((names) => names.length).sort((a, b) => a - b)[0]).toBe(0);
      expect(Math.max(...applied.map((names) => names.length))).toBeGreaterThan(0);
    } finally {
      await Promise.all(orms.map((orm) => orm.close(true)));
    }

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
