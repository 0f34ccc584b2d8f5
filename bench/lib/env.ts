import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const ADMIN_TOKEN = `bench-admin-${randomBytes(12).toString('hex')}`;

/** The node flags of `npm start` (package.json): the server is measured as it runs in production. */
function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return scripts.start.split(/\s+/).filter((arg) => arg.startsWith('--'));
}

/**
 * Node's flags for a server under test, the product's or a baseline's: `npm start`'s, and with
 * `npm run bench -- --cpu-prof` a V8 CPU profile written to bench/profiles on exit.
 */
export function serverFlags(): string[] {
  const profile = process.argv.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench/profiles')}`] : [];
  return [...startFlags(), ...profile];
}

/** The PostgreSQL server the benchmarks use: DATABASE_URL's, or an embedded one. */
export interface PgServer {
  readonly url: string;
  readonly version: string;
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startPg(): Promise<PgServer> {
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  let url = process.env['DATABASE_URL'];
  if (!url) {
    dataDir = await mkdtemp(join(tmpdir(), 'handover-bench-'));
    embedded = await startEmbeddedPostgres(dataDir);
    url = embedded.url;
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0].server_version;
  const created: string[] = [];
  return {
    url,
    version,
    async createDatabase() {
      const name = `handover_bench_${randomBytes(4).toString('hex')}`;
      await admin.query(`create database "${name}"`);
      created.push(name);
      return withDatabase(url, name);
    },
    async stop() {
      for (const name of created) await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await embedded?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ServerChild {
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** The real server, built, as its own process with `npm start`'s flags; `nodeArgs` go to node too. */
export function startServer(
  databaseUrl: string,
  extraEnv: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<ServerChild> {
  const child = spawn(process.execPath, [...serverFlags(), ...nodeArgs, join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'],
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: '0',
      ADMIN_TOKEN,
      DB_POOL_SIZE: '20',
      // Thousands of simulated dashboards share the one token.
      WS_MAX_SOCKETS_PER_TOKEN: '100000',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /GraphQL on (http:\/\/\S+)/.exec(out);
      if (match) {
        child.stdout.off('data', onData);
        resolve({
          url: match[1],
          wsUrl: match[1].replace('http', 'ws'),
          pid: child.pid!,
          child,
          stop: () =>
            new Promise<void>((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${out}`)));
  });
}

/** Resident memory of a process, in KiB. */
export async function rssKib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/**
 * CPU seconds (user + system) used so far by every PostgreSQL process on this machine (their
 * command name is `postgres`): the database's share of a benchmark, read before and after it.
 * Backends that have ended count too: their time moves to the postmaster's reaped-children time
 * when they exit, so the sum only grows.
 */
export async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      total += ticksOf(stat) + reapedTicksOf(stat);
    } catch {
      // The process ended while the list was read.
    }
  }
  return total / 100; // USER_HZ
}

function ticksOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** User and system time of the process's children that have ended (cutime, cstime). */
function reapedTicksOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

/** CPU time (user + system) of a process so far, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  return ticksOf(await readFile(`/proc/${pid}/stat`, 'utf8')) / 100; // USER_HZ
}
