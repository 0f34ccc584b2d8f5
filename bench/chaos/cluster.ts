import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDatabase, freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { startServer, type ServerChild } from '../lib/env.js';

/** A span of time, in ms since the epoch; `to` is open (Infinity) while it lasts. */
export interface Window {
  readonly from: number;
  to: number;
}

export interface LogLine {
  readonly at: number;
  readonly server: number;
  readonly text: string;
}

/** One server slot: a fixed port, so clients find a restarted process at the same address. */
export interface Node {
  readonly index: number;
  readonly url: string;
  readonly wsUrl: string;
  process: ServerChild | null;
  /** When its event listener was disconnected (from its own log). */
  readonly listenerDown: Window[];
}

const SERVER_ENV = { DB_POOL_SIZE: '10', SWEEP_INTERVAL_MS: '1000' };
const LISTENER_LOST = /event listener lost its connection/;
const LISTENER_BACK = /event listener reconnected/;

export const now = (): number => Date.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function readyz(url: string): Promise<number> {
  const target = new URL('/readyz', url);
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Its own embedded PostgreSQL (a temp data directory, restartable on the same port) and N
 * server processes of the built entry point on it. Records every server's log lines, and the
 * windows when a server was killed or the database was down.
 */
export class Cluster {
  readonly nodes: Node[] = [];
  readonly logs: LogLine[] = [];
  readonly serverKills: Window[] = [];
  readonly dbOutages: Window[] = [];
  private pg: EmbeddedDatabase | null = null;
  private stopped = false;
  /** A kill/restart in progress: stop() lets it finish, so nothing it starts is left behind. */
  private action: Promise<void> | null = null;

  private constructor(
    private readonly dataDir: string,
    private pgPort: number,
    readonly databaseUrl: string,
    private readonly log: (message: string) => void,
  ) {}

  static async start(servers: number, log: (message: string) => void): Promise<Cluster> {
    const dataDir = await mkdtemp(join(tmpdir(), 'handover-chaos-'));
    let pg: EmbeddedDatabase;
    try {
      pg = await startEmbeddedPostgres(dataDir);
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
    const cluster = new Cluster(dataDir, pg.port, await ensureDatabase(pg.url, 'handover_chaos'), log);
    cluster.pg = pg;
    for (let i = 0; i < servers; i++) {
      const port = await freePort();
      cluster.nodes.push({
        index: i,
        url: `http://127.0.0.1:${port}/graphql`,
        wsUrl: `ws://127.0.0.1:${port}/graphql`,
        process: null,
        listenerDown: [],
      });
    }
    try {
      // One at a time: the first applies the migrations.
      for (const node of cluster.nodes) await cluster.startNode(node);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get postgresPort(): number {
    return this.pgPort;
  }

  isUp(node: Node): boolean {
    return node.process !== null && node.process.child.exitCode === null && node.process.child.signalCode === null;
  }

  private async startNode(node: Node): Promise<void> {
    if (this.stopped) throw new Error('the cluster is stopping');
    const port = new URL(node.url).port;
    const server = await startServer(this.databaseUrl, { ...SERVER_ENV, PORT: port, HOST: '127.0.0.1' });
    node.process = server;
    const capture = (stream: NodeJS.ReadableStream): void => {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) this.record(node, text);
      });
    };
    capture(server.child.stdout!);
    capture(server.child.stderr!);
  }

  private record(node: Node, text: string): void {
    const at = now();
    this.logs.push({ at, server: node.index, text });
    const open = node.listenerDown.at(-1);
    if (LISTENER_LOST.test(text) && (!open || open.to !== Infinity)) node.listenerDown.push({ from: at, to: Infinity });
    if (LISTENER_BACK.test(text) && open && open.to === Infinity) open.to = at;
  }

  private exclusive(work: () => Promise<void>): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the cluster is stopping'));
    const action = work().finally(() => {
      if (this.action === action) this.action = null;
    });
    this.action = action;
    return action;
  }

  /** kill -9, then a restart after `downMs`. */
  killAndRestart(node: Node, downMs: number): Promise<void> {
    return this.exclusive(() => this.kill(node, downMs));
  }

  private async kill(node: Node, downMs: number): Promise<void> {
    const window: Window = { from: now(), to: Infinity };
    this.serverKills.push(window);
    const child = node.process!.child;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    node.process = null;
    await sleep(downMs);
    await this.startNode(node);
    this.log(`server ${node.index} started again`);
    await this.waitReady(60_000);
    window.to = now();
  }

  /** Stops PostgreSQL, starts it again on the same port after `downMs`, and waits until every server is ready again. */
  restartPostgres(downMs: number): Promise<void> {
    return this.exclusive(() => this.bouncePostgres(downMs));
  }

  private async bouncePostgres(downMs: number): Promise<void> {
    const window: Window = { from: now(), to: Infinity };
    this.dbOutages.push(window);
    await this.pg!.stop();
    this.pg = null;
    this.log(`PostgreSQL stopped after ${now() - window.from} ms`);
    await sleep(downMs);
    if (this.stopped) throw new Error('the cluster is stopping');
    this.pg = await startEmbeddedPostgres(this.dataDir, () => {}, this.pgPort);
    this.log('PostgreSQL started again');
    await this.waitReady(120_000);
    window.to = now();
  }

  /** Until every live server answers /readyz (database reachable, listener connected). */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    for (;;) {
      if (this.stopped) throw new Error('the cluster is stopping');
      const states = await Promise.all(this.nodes.filter((n) => this.isUp(n)).map((n) => readyz(n.url)));
      if (states.every((s) => s === 200)) return;
      if (now() > deadline) throw new Error(`servers not ready within ${timeoutMs} ms (readyz: ${states.join(', ')})`);
      await sleep(200);
    }
  }

  /** Stops every server and PostgreSQL and removes the data directory; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Waits for an action in progress; its caller gets and reports its failure.
    await this.action?.catch(() => undefined);
    await Promise.all(
      this.nodes.map(async (node) => {
        const server = node.process;
        node.process = null;
        if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
        const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
        await server.stop();
        clearTimeout(timer);
      }),
    );
    const pg = this.pg;
    this.pg = null;
    await pg?.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
