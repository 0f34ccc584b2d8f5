/**
 * Keyset ("seek") paging over an ordering of columns: a page starts strictly after the cursor's
 * row, whatever was inserted or deleted since, without counting rows to skip.
 */

/** One column of an ordering. The last key of an ordering must be unique (e.g. the id). */
export interface SortKey {
  /** Column name, unqualified. */
  readonly column: string;
  readonly direction: 'asc' | 'desc';
  /** Where nulls sort; absent for a column that is never null. */
  readonly nulls?: 'first' | 'last';
  /** PostgreSQL type of the column, for casting cursor values. */
  readonly type: 'timestamptz' | 'bigint' | 'integer' | 'uuid';
}

/** A cursor's value for one key, as text (null where the row has none). */
export type KeyValue = string | null;

export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly KeyValue[];
}

/** The same ordering walked backwards: directions and null placement flip. */
export function reversed(keys: readonly SortKey[]): SortKey[] {
  return keys.map((key) => ({
    ...key,
    direction: key.direction === 'asc' ? 'desc' : 'asc',
    ...(key.nulls ? { nulls: key.nulls === 'first' ? 'last' : 'first' } : {}),
  }));
}

/** `a.created_at desc, a.id desc`, nulls placed explicitly (not left to PostgreSQL's defaults). */
export function orderBySql(keys: readonly SortKey[], alias: string): string {
  return keys.map((k) => `${alias}.${k.column} ${k.direction}${k.nulls ? ` nulls ${k.nulls}` : ''}`).join(', ');
}

/**
 * The rows strictly after `values` in the ordering. Columns that are never null and share one
 * direction compare as a row, which PostgreSQL answers from a matching index; otherwise each
 * key is spelled out, nulls included.
 */
export function afterSql(keys: readonly SortKey[], values: readonly KeyValue[], alias: string): SqlFragment {
  const column = (k: SortKey): string => `${alias}.${k.column}`;
  if (keys.every((k) => !k.nulls && k.direction === keys[0].direction)) {
    const op = keys[0].direction === 'asc' ? '>' : '<';
    return {
      sql: `(${keys.map(column).join(', ')}) ${op} (${keys.map((k) => `?::${k.type}`).join(', ')})`,
      params: values,
    };
  }
  const from = (i: number): SqlFragment => {
    const key = keys[i];
    const value = values[i];
    const c = column(key);
    const op = key.direction === 'asc' ? '>' : '<';
    const cast = `?::${key.type}`;
    if (i === keys.length - 1) return { sql: `${c} ${op} ${cast}`, params: [value] };
    const rest = from(i + 1);
    if (value === null) {
      // Only other nulls can follow a null that sorts last; everything else follows one that sorts first.
      return key.nulls === 'last'
        ? { sql: `(${c} is null and ${rest.sql})`, params: rest.params }
        : { sql: `(${c} is not null or (${c} is null and ${rest.sql}))`, params: rest.params };
    }
    const nullsAfter = key.nulls === 'last' ? ` or ${c} is null` : '';
    return {
      sql: `(${c} ${op} ${cast}${nullsAfter} or (${c} = ${cast} and ${rest.sql}))`,
      params: [value, value, ...rest.params],
    };
  };
  return from(0);
}
