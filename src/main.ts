import { bootstrapAdminToken, startApp, type App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';

/** `npm start`: config → database (embedded unless DATABASE_URL) → app; SIGINT/SIGTERM → stop. */
async function main(): Promise<void> {
  const config = loadConfig();
  let embedded: EmbeddedDatabase | undefined;
  let app: App | undefined;
  let stopping = false;

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`[handover] ${signal}: shutting down`);
    try {
      await app?.stop();
      await embedded?.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

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
  process.exit(1);
});
