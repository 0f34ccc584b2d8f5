import { ReferenceKind } from '@mikro-orm/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { initOrm, type Orm } from '../src/db/orm.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
let orm: Orm;

beforeAll(async () => {
  // The template database is what the committed migrations build.
  db = await createTestDatabase(inject('pgServerUrl'), inject('templateDatabase'));
  orm = await initOrm({ databaseUrl: db.url, poolSize: 1 });
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

interface Column {
  readonly table: string;
  readonly column: string;
  readonly nullable: boolean;
}

async function migratedColumns(): Promise<Map<string, Column>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string; column_name: string; is_nullable: string }>(
      `select table_name, column_name, is_nullable from information_schema.columns where table_schema = 'public'`,
    );
    return new Map(
      rows.map((r) => [
        `${r.table_name}.${r.column_name}`,
        { table: r.table_name, column: r.column_name, nullable: r.is_nullable === 'YES' },
      ]),
    );
  } finally {
    await client.end();
  }
}

describe('entities and migrations', () => {
  it('every column an entity maps exists in the migrated schema, with the same nullability', async () => {
    const columns = await migratedColumns();
    const drift: string[] = [];
    let checked = 0;
    for (const meta of Object.values(orm.getMetadata().getAll())) {
      if (!meta.tableName || meta.embeddable || meta.virtual) continue;
      for (const prop of Object.values(meta.properties)) {
        // Computed (formula) and collection properties have no column of their own.
        if (prop.formula || prop.persist === false) continue;
        if (prop.kind === ReferenceKind.ONE_TO_MANY || prop.kind === ReferenceKind.MANY_TO_MANY) continue;
        if (prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner) continue;
        for (const field of prop.fieldNames ?? []) {
          checked++;
          const column = columns.get(`${meta.tableName}.${field}`);
          if (!column) {
            drift.push(`${meta.className}.${prop.name}: no column ${meta.tableName}.${field}`);
          } else if (!prop.primary && Boolean(prop.nullable) !== column.nullable) {
            drift.push(
              `${meta.className}.${prop.name}: nullable ${Boolean(prop.nullable)} in the entity, ${column.nullable} in ${meta.tableName}.${field}`,
            );
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(drift).toEqual([]);
  });
});
