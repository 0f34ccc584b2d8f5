import { bootstrapAdminToken, startApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { stopInOrder } from './shutdown.js';

// SIGHUP: the terminal closed. Without a handler Node dies at once and leaves the embedded
// PostgreSQL running.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

let embedded: EmbeddedDatabase | undefined;
let app: App | undefined;
let stopping = false;

/** Stops the app, then PostgreSQL; exits 1 when anything failed to stop (after logging it). */
async function shutdown(reason: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`[handover] ${reason}: shutting down`);
  const stopCode = await stopInOrder([
    ['the server', () => app?.stop()],
    ['embedded PostgreSQL', () => embedded?.stop()],
  ]);
  process.exit(Math.max(code, stopCode));
}

/** `npm start`: config → database (embedded unless DATABASE_URL) → app; SIGINT/SIGTERM/SIGHUP → stop. */
async function main(): Promise<void> {
  const config = loadConfig();
  // shutdown() reports its failures and exits; it never rejects.
  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    console.log(`[handover] starting embedded PostgreSQL (data in ${config.dataDir})`);
    embedded = await startEmbeddedPostgres(config.dataDir);
    databaseUrl = await ensureDatabase(embedded.url, 'handover');
  }

  app = await startApp({ config, databaseUrl });
  const token = await bootstrapAdminToken(app);
  if (token) {
    console.log('[handover] a new ADMIN token for this database (shown once; store it safely):');
    console.log(`  ${token}`);
  }
  console.log(`[handover] GraphQL on ${app.url} (HTTP and WebSocket)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `[handover] ${error.message}` : error);
  // A failed start must not leave the embedded PostgreSQL behind (shutdown() never rejects).
  void shutdown('start failed', 1);
});
