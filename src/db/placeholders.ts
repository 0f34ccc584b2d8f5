/** A value PostgreSQL receives as a bound parameter. */
export type Scalar = string | number | boolean | null;

/** A statement in PostgreSQL's `$n` form with the values for its parameters. */
export interface Bound {
  readonly text: string;
  readonly values: Scalar[];
}

/**
 * What MikroORM would inline, as a bound value: a Date as its ISO instant (MikroORM's own format,
 * independent of the process's time zone), undefined as NULL; undefined for a value it would not
 * know how to bind (then the statement is sent the ORM's usual way).
 */
function scalar(value: unknown): Scalar | undefined {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/**
 * `sql` with MikroORM's placeholders read as MikroORM's formatQuery reads them (`?` a value, an
 * array a list of values, `??` an identifier, `\?` a plain question mark), written as PostgreSQL's
 * `$n` with the values beside it; null when a value cannot be bound.
 */
export function positional(sql: string, params: readonly unknown[], quoteIdentifier: (id: string) => string): Bound | null {
  const values: Scalar[] = [];
  const bind = (value: unknown): string | null => {
    const bound = scalar(value);
    if (bound === undefined) return null;
    values.push(bound);
    return `$${values.length}`;
  };
  let text = '';
  let from = 0;
  let next = 0;
  for (let at = sql.indexOf('?'); at !== -1; at = sql.indexOf('?', from)) {
    if (at > 0 && sql[at - 1] === '\\') {
      text += `${sql.slice(from, at - 1)}?`;
      from = at + 1;
      continue;
    }
    text += sql.slice(from, at);
    const param = params[next++];
    if (sql[at + 1] === '?') {
      if (typeof param !== 'string') return null;
      text += quoteIdentifier(param);
      from = at + 2;
      continue;
    }
    // An empty list inlines as nothing; bound, it would need a placeholder of its own.
    if (Array.isArray(param) && param.length === 0) return null;
    const marks = Array.isArray(param) ? (param as unknown[]).map(bind) : [bind(param)];
    if (marks.includes(null)) return null;
    text += marks.join(', ');
    from = at + 1;
  }
  if (next !== params.length) return null;
  return { text: text + sql.slice(from), values };
}
