import 'reflect-metadata';
import { loadConfig } from './config.js';
import { ensureDatabase, startEmbeddedPostgres } from './db/embedded.js';
import { initOrm, migrate } from './db/orm.js';

/** `npm run migrate`: applies pending migrations and exits. */
const config = loadConfig();
const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
try {
  const databaseUrl = config.databaseUrl ?? (await ensureDatabase(embedded!.url, 'handover'));
  const orm = await initOrm({ databaseUrl });
  const applied = await migrate(orm);
  await orm.close(true);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} finally {
  await embedded?.stop();
}
