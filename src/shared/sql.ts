import type { EntityManager } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';

/** A piece of SQL with its `?` parameters, to be placed in a larger statement. */
export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Where each field of a table's writable fields `T` is stored: its column, or its column with a
 * placeholder of its own (`array[?]::text[]` for a list, which a plain `?` would spread).
 */
export type Columns<T> = { readonly [K in keyof T]-?: string | { readonly column: string; readonly placeholder: string } };

/** Writes to a table's rows by their `id`, through its map of fields to columns. */
export interface RowWriter<T> {
  /** Inserts a row of the fields of `values` that are set (the others take their columns' defaults); answers with its new id. */
  readonly insert: (em: EntityManager, values: Partial<T>) => Promise<string>;
  /** Writes the fields of `changes` that are set to the row `id` in one UPDATE; nothing when none is. */
  readonly update: (em: EntityManager, id: string, changes: Partial<T>) => Promise<void>;
}

export function rowWriter<T extends object>(table: string, columns: Columns<T>): RowWriter<T> {
  /** The fields of `values` that are set (not undefined), as column, placeholder and value. */
  const setFields = (values: Partial<T>): Array<[string, string, unknown]> =>
    (Object.keys(columns) as Array<keyof T>).flatMap((field) => {
      const value = values[field];
      if (value === undefined) return [];
      const where = columns[field];
      return [typeof where === 'string' ? [where, '?', value] : [where.column, where.placeholder, value]];
    });
  return {
    async insert(em, values) {
      const id = randomUUID();
      const fields = setFields(values);
      await em.execute(
        `insert into ${table} (id, ${fields.map(([column]) => column).join(', ')}) values (?, ${fields.map(([, mark]) => mark).join(', ')})`,
        [id, ...fields.map(([, , value]) => value)],
      );
      return id;
    },
    async update(em, id, changes) {
      const fields = setFields(changes);
      if (fields.length === 0) return;
      await em.execute(`update ${table} set ${fields.map(([column, mark]) => `${column} = ${mark}`).join(', ')} where id = ?`, [
        ...fields.map(([, , value]) => value),
        id,
      ]);
    },
  };
}
