import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD_FILE } from '../src/db/embedded.js';
import { ADMIN_TOKEN } from './helpers/app.js';
import { createEmptyDatabase, createTestDatabase } from './helpers/database.js';
import { GraphqlClient } from './helpers/gql.js';
import { migrationNames, migrationState, publicTables } from './helpers/migrations.js';
import { PROJECT_ROOT, startServerProcess } from './helpers/process.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A PostgreSQL server on `pgDir`: its process listed by ps, or its postmaster.pid left. */
function postgresRunningIn(pgDir: string): boolean {
  if (existsSync(join(pgDir, 'postmaster.pid'))) return true;
  try {
    return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(pgDir);
  } catch {
    return false;
  }
}

describe('npm start on a fresh machine (embedded PostgreSQL)', () => {
  it('starts, prints an admin token once per data directory, answers, and stops cleanly', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'handover-start-'));
    dirs.push(dataDir);
    // No DATABASE_URL, no ADMIN_TOKEN: everything comes from the data directory. Started as
    // in production, where the schema must still be readable by front-end tooling.
    const env = { DATA_DIR: dataDir, PORT: '0', NODE_ENV: 'production' };
    const first = await startServerProcess(env);
    const token = /(hov_[A-Za-z0-9_-]+)/.exec(first.output())?.[1];
    expect(token).toBeDefined();

    const client = new GraphqlClient(first.url, token);
    expect(await client.ok(`{ groups { id } }`)).toEqual({ groups: [] });
    expect(await client.ok(`{ __schema { subscriptionType { name } } }`)).toEqual({
      __schema: { subscriptionType: { name: 'Subscription' } },
    });
    const base = first.url.replace('/graphql', '');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    await client.ok(
      `mutation { createGroup(input: { name: "Support", slFirstResponseSec: 60, slNextResponseSec: 120 }) { id } }`,
    );

    expect(postgresRunningIn(join(dataDir, 'pg'))).toBe(true);
    expect(await first.stop()).toBe(0);
    expect(postgresRunningIn(join(dataDir, 'pg'))).toBe(false);

    // The PostgreSQL superuser's password: generated, readable by its owner only.
    const passwordFile = join(dataDir, PASSWORD_FILE);
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
    const password = await readFile(passwordFile, 'utf8');
    expect(password.trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);

    // Second start on the same data: no new token, the first one still works, data kept, the
    // same password. Closing the terminal (SIGHUP) stops PostgreSQL too.
    const second = await startServerProcess(env);
    expect(second.output()).not.toMatch(/hov_/);
    const again = new GraphqlClient(second.url, token);
    expect((await again.ok(`{ groups { name } }`)).groups).toEqual([{ name: 'Support' }]);
    expect(await readFile(passwordFile, 'utf8')).toBe(password);
    expect(await second.stop('SIGHUP')).toBe(0);
    expect(postgresRunningIn(join(dataDir, 'pg'))).toBe(false);
  }, 120_000);
});

/** `npm run migrate` against `databaseUrl`, from source; its output. */
function runMigrate(databaseUrl: string): string {
  return execFileSync(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/migrate.ts'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env['PATH'], DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
}

describe('npm run migrate', () => {
  it('on a migrated database finds nothing pending and exits', async () => {
    const db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
    try {
      expect(runMigrate(db.url)).toContain('no pending migrations');
    } finally {
      await db.drop();
    }
  }, 60_000);

  it('on an empty database applies every migration, in order, and exits', async () => {
    const db = await createEmptyDatabase(inject('pgServerUrl'));
    try {
      expect(await publicTables(db.url)).toEqual([]);
      const all = await migrationNames();
      expect(all.length).toBeGreaterThan(0);
      expect(runMigrate(db.url).trim()).toBe(`applied: ${all.join(', ')}`);
      expect(await migrationState(db.url)).toEqual({ executed: all, pending: [], missingTables: [] });
      expect(runMigrate(db.url)).toContain('no pending migrations');
    } finally {
      await db.drop();
    }
  }, 60_000);
});

describe('the server on an empty database (DATABASE_URL)', () => {
  it('migrates it at start-up, then answers', async () => {
    const db = await createEmptyDatabase(inject('pgServerUrl'));
    try {
      expect(await publicTables(db.url)).toEqual([]);
      const server = await startServerProcess({ DATABASE_URL: db.url, PORT: '0', ADMIN_TOKEN });
      try {
        const client = new GraphqlClient(server.url, ADMIN_TOKEN);
        expect(await client.ok(`{ groups { id } }`)).toEqual({ groups: [] });
        await client.ok(
          `mutation { createGroup(input: { name: "First", slFirstResponseSec: 60, slNextResponseSec: 120 }) { id } }`,
        );
        expect((await client.ok(`{ groups { name } }`)).groups).toEqual([{ name: 'First' }]);
        expect(await migrationState(db.url)).toEqual({ executed: await migrationNames(), pending: [], missingTables: [] });
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      await db.drop();
    }
  }, 90_000);
});
