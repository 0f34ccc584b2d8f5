import pg from 'pg';

/** Row counts of every table of the app, read in one statement. */
export interface TableCounts {
  /** Table names, from information_schema: a new table is counted without anyone listing it. */
  readonly tables: readonly string[];
  read(): Promise<Record<string, number>>;
  /** Ids of every row by table (live rows; soft-deleted ones under `<table>.deleted`). */
  ids(): Promise<Record<string, string[]>>;
  close(): Promise<void>;
}

export async function tableCounts(databaseUrl: string): Promise<TableCounts> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const { rows } = await db.query<{ table_name: string; columns: string[] }>(
    `select t.table_name, array(select c.column_name::text from information_schema.columns c
                                 where c.table_schema = t.table_schema and c.table_name = t.table_name) as columns
       from information_schema.tables t
      where t.table_schema = 'public' and t.table_type = 'BASE TABLE' and t.table_name <> 'mikro_orm_migrations'
      order by t.table_name`,
  );
  const tables = rows.map((r) => r.table_name);
  const countSql = tables.map((name) => `select '${name}' as t, count(*)::int as n from "${name}"`).join(' union all ');
  // Soft-deleted rows are a pool of their own ("groups.deleted"): ids that name nothing live.
  const idSql = rows
    .filter((r) => r.columns.includes('id'))
    .map(({ table_name: name, columns }) =>
      columns.includes('deleted_at')
        ? `select case when deleted_at is null then '${name}' else '${name}.deleted' end as t, id::text as id from "${name}"`
        : `select '${name}' as t, id::text as id from "${name}"`,
    )
    .join(' union all ');
  return {
    tables,
    read: async () => Object.fromEntries((await db.query<{ t: string; n: number }>(countSql)).rows.map((r) => [r.t, r.n])),
    ids: async () => {
      const result: Record<string, string[]> = {};
      // Ordered, so the same data gives the same pool (a replay draws the same rows).
      for (const r of (await db.query<{ t: string; id: string }>(`${idSql} order by 1, 2`)).rows) (result[r.t] ??= []).push(r.id);
      return result;
    },
    close: () => db.end(),
  };
}
