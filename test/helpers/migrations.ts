import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { initOrm } from '../../src/db/orm.js';
import { PROJECT_ROOT } from './process.js';

export interface MigrationState {
  /** Migrations recorded as applied, in order. */
  readonly executed: string[];
  /** Migrations the migrator would still apply. */
  readonly pending: string[];
  /** Tables of persisted entities that the database lacks. */
  readonly missingTables: string[];
}

/** Every migration in the source tree, oldest first. */
export async function migrationNames(): Promise<string[]> {
  const files = await readdir(join(PROJECT_ROOT, 'src', 'migrations'));
  return files
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

/** The tables of the database's public schema, by name. */
export async function publicTables(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public'`,
    );
    return rows.rows.map((r) => r.table_name).sort();
  } finally {
    await client.end();
  }
}

/** What the database at `databaseUrl` holds (its tables read before the migrator looks). */
export async function migrationState(databaseUrl: string): Promise<MigrationState> {
  const tables = new Set(await publicTables(databaseUrl));
  const orm = await initOrm({ databaseUrl, poolSize: 1 });
  try {
    const migrator = orm.getMigrator();
    const entityTables = Object.values(orm.getMetadata().getAll())
      .filter((meta) => !meta.embeddable && !meta.virtual && !meta.abstract)
      .map((meta) => meta.tableName);
    return {
      executed: (await migrator.getExecutedMigrations()).map((m) => m.name),
      pending: (await migrator.getPendingMigrations()).map((m) => m.name),
      missingTables: entityTables.filter((t) => !tables.has(t)),
    };
  } finally {
    await orm.close(true);
  }
}
