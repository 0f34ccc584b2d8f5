import { bootstrapAdminToken, startApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { createLogger, loggable, type Logger } from './shared/logger.js';
import { stopInOrder } from './shutdown.js';

// SIGHUP: the terminal closed. Without a handler Node dies at once and leaves the embedded
// PostgreSQL running.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

let embedded: EmbeddedDatabase | undefined;
let app: App | undefined;
let stopping = false;
// Replaced by one at the configured level once the configuration is read.
let log: Logger = createLogger();

/** Stops the app, then PostgreSQL; exits 1 when anything failed to stop (after logging it). */
async function shutdown(reason: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, 'shutting down');
  const stopCode = await stopInOrder(
    [
      ['the server', () => app?.stop()],
      ['embedded PostgreSQL', () => embedded?.stop()],
    ],
    (message, error) => log.error({ err: loggable(error) }, message),
  );
  process.exit(Math.max(code, stopCode));
}

/** `npm start`: config → database (embedded unless DATABASE_URL) → app; SIGINT/SIGTERM/SIGHUP → stop. */
async function main(): Promise<void> {
  const config = loadConfig();
  log = createLogger({ level: config.logLevel });
  // shutdown() reports its failures and exits; it never rejects.
  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    log.info({ dataDir: config.dataDir }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres(config.dataDir);
    databaseUrl = await ensureDatabase(embedded.url, 'handover');
  }

  app = await startApp({ config, databaseUrl });
  const token = await bootstrapAdminToken(app);
  if (token) {
    // Shown once to whoever started the server, on the terminal: never as a log line, which
    // would carry it into log storage.
    process.stdout.write(`[handover] a new ADMIN token for this database (shown once; store it safely):\n  ${token}\n`);
  }
  log.info({ url: app.url }, `GraphQL on ${app.url} (HTTP and WebSocket)`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) log.fatal(error.message);
  else log.fatal({ err: loggable(error) }, 'start failed');
  // A failed start must not leave the embedded PostgreSQL behind (shutdown() never rejects).
  void shutdown('start failed', 1);
});
