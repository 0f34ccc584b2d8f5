import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { entities } from './entities.js';
import { PgDriver } from './pg-driver.js';

export interface OrmOptions {
  readonly databaseUrl: string;
  readonly poolSize?: number;
  /** Called with every SQL statement sent; used to count statements in tests and benchmarks. */
  readonly onQuery?: (sql: string) => void;
  /** The connection pool's warnings (a dead connection found and dropped), which it would print to stdout. */
  readonly onPoolWarning?: (message: string) => void;
}

// Compiled next to this file (dist) or loaded from source (tests): either way a sibling folder.
const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export function ormConfig(options: OrmOptions): Options {
  return defineConfig({
    clientUrl: options.databaseUrl,
    driver: PgDriver,
    entities,
    extensions: [Migrator],
    // No ./temp cache; metadata comes from the decorators on every start.
    metadataCache: { enabled: false },
    forceUtcTimezone: true,
    ensureDatabase: false,
    allowGlobalContext: false,
    pool: { min: 0, max: options.poolSize ?? 10 },
    // knex keeps the pool and prints what it reports with console.log unless given a logger.
    ...(options.onPoolWarning ? { driverOptions: { log: { warn: options.onPoolWarning, error: options.onPoolWarning } } } : {}),
    migrations: {
      path: migrationsDir,
      pathTs: migrationsDir,
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    dynamicImportProvider: (id: string) => import(id),
    ...(options.onQuery ? { debug: ['query'] as const, logger: options.onQuery, colors: false } : { debug: false }),
  });
}

export type Orm = MikroORM;

export function initOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}

const MIGRATION_LOCK = 7234001;

/**
 * Applies pending migrations; safe to run from several processes at once. The lock that keeps
 * migrators apart is held on a connection of its own, outside the pool: the migrator needs a
 * pooled connection, which a pool of one could not give while that one held the lock.
 */
export async function migrate(orm: Orm): Promise<string[]> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    // Session-level: released by the unlock below, or by Postgres if this process dies.
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    // Ending the session releases the lock too: a failed unlock or close loses nothing.
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}
