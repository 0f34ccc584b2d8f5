import { inject } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/shared/clock.js';
import type { LogDestination } from '../../src/shared/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { GraphqlClient } from './gql.js';
import { quietApp, settledApp } from '../../bench/lib/quiet-app.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestApp {
  readonly app: App;
  readonly db: TestDatabase;
  /** A client with the ADMIN token. */
  readonly admin: GraphqlClient;
  /** A client with no token, or `client(token)` for another one. */
  client(token?: string): GraphqlClient;
  /** Stops the app's background work (SL ticker, sweeps, webhook delivery), so statement counts see requests only. */
  quiet(): Promise<void>;
  /**
   * Waits until every event committed so far is numbered and delivered to this app, so no log
   * read is left to run (statement counts then see requests only).
   */
  settled(): Promise<void>;
  /** SQL statements seen since the last `resetQueryCount()`. */
  queryCount(): number;
  resetQueryCount(): void;
  /** Counts the SQL statements matching `pattern` from now on. */
  watchStatements(pattern: RegExp): () => number;
  stop(): Promise<void>;
}

/**
 * Background sweeps are slowed down in tests: tests call `app.sweeper.runOnce()` when they mean it.
 * Only warnings and errors are logged unless a test asks for more.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ ADMIN_TOKEN, PORT: '0', SWEEP_INTERVAL_MS: '60000', LOG_LEVEL: 'warn' }), ...overrides };
}

/** The real server on a free port, over its own fresh database. */
export async function startTestApp(
  options: { clock?: Clock; config?: Partial<Config>; db?: TestDatabase; logDestination?: LogDestination } = {},
): Promise<TestApp> {
  const db = options.db ?? (await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase')));
  let queries = 0;
  const watchers = new Set<(sql: string) => void>();
  const app = await startApp({
    config: testConfig(options.config),
    databaseUrl: db.url,
    port: 0,
    clock: options.clock,
    logDestination: options.logDestination,
    onQuery: (sql) => {
      queries++;
      for (const watch of watchers) watch(sql);
    },
  });
  const client = (token?: string): GraphqlClient => new GraphqlClient(app.url, token);
  return {
    app,
    db,
    admin: client(ADMIN_TOKEN),
    client,
    quiet: () => quietApp(app),
    settled: () => settledApp(app),
    queryCount: () => queries,
    resetQueryCount: () => {
      queries = 0;
    },
    watchStatements: (pattern) => {
      let seen = 0;
      watchers.add((sql) => {
        if (pattern.test(sql)) seen++;
      });
      return () => seen;
    },
    stop: async () => {
      await app.stop();
      if (!options.db) await db.drop();
    },
  };
}
