import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entities } from './entities.js';

export interface OrmOptions {
  readonly databaseUrl: string;
  readonly poolSize?: number;
  /** Called with every SQL statement sent; used to count statements in tests and benchmarks. */
  readonly onQuery?: (sql: string) => void;
}

// Compiled next to this file (dist) or loaded from source (tests): either way a sibling folder.
const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export function ormConfig(options: OrmOptions): Options {
  return defineConfig({
    clientUrl: options.databaseUrl,
    entities,
    extensions: [Migrator],
    // No ./temp cache; metadata comes from the decorators on every start.
    metadataCache: { enabled: false },
    forceUtcTimezone: true,
    ensureDatabase: false,
    allowGlobalContext: false,
    pool: { min: 0, max: options.poolSize ?? 10 },
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
    ...(options.onQuery
      ? { debug: ['query'] as const, logger: options.onQuery, colors: false }
      : { debug: false }),
  });
}

export type Orm = MikroORM;

export function initOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}

/** Applies pending migrations; safe to run from several processes at once. */
export async function migrate(orm: Orm): Promise<string[]> {
  const em = orm.em.fork();
  const connection = em.getConnection();
  // One migrator at a time across processes; released when this connection's transaction ends.
  return connection.transactional(async (trx) => {
    await connection.execute('select pg_advisory_xact_lock(7234001)', [], 'run', trx);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  });
}
