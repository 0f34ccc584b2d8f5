import { createHash } from 'node:crypto';
import {
  AbstractSqlDriver,
  PostgreSqlConnection,
  PostgreSqlPlatform,
  type Configuration,
  type Knex,
} from '@mikro-orm/postgresql';

/** Distinct statement texts given a name (each name is parsed once per pooled connection). */
const MAX_NAMED = 500;

type Scalar = string | number | boolean | null;

/**
 * What MikroORM would inline, as bound values: a Date as its ISO instant (MikroORM's own format,
 * independent of the process's time zone), an array as a list, undefined as NULL. Null for a
 * value it would not know how to bind (then the statement is sent the ORM's usual way).
 */
function bindable(params: readonly unknown[]): { sql: (sql: string) => string; values: Scalar[] } | null {
  const values: Scalar[] = [];
  const listLengths: number[] = [];
  const scalar = (value: unknown): Scalar | undefined => {
    if (value === undefined || value === null) return null;
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    if (typeof value === 'bigint') return value.toString();
    return undefined;
  };
  for (const param of params) {
    if (Array.isArray(param)) {
      // An empty list inlines as nothing; bound, it would need a placeholder of its own.
      if (param.length === 0) return null;
      for (const item of param as unknown[]) {
        const value = scalar(item);
        if (value === undefined) return null;
        values.push(value);
      }
      listLengths.push(param.length);
    } else {
      const value = scalar(param);
      if (value === undefined) return null;
      values.push(value);
      listLengths.push(0);
    }
  }
  const expand = (sql: string): string => {
    if (listLengths.every((n) => n === 0)) return sql;
    let index = 0;
    // The same placeholders MikroORM's formatQuery replaces: `?`, not `\?` nor `??`.
    return sql.replace(/\\\?|\?\?|\?/g, (match) => {
      if (match === '\\?') return match;
      if (match === '??') {
        index++; // an identifier: never a list
        return match;
      }
      const n = listLengths[index++] ?? 0;
      return n === 0 ? '?' : Array.from({ length: n }, () => '?').join(', ');
    });
  };
  return { sql: expand, values };
}

const names = new Map<string, string>();

/** A stable name for `sql`, or undefined once MAX_NAMED texts have one (then it runs unnamed). */
function nameOf(sql: string): string | undefined {
  const known = names.get(sql);
  if (known !== undefined || names.size >= MAX_NAMED) return known;
  const name = `h_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
  names.set(sql, name);
  return name;
}

/**
 * Sends raw SQL with bound values as a named prepared statement, instead of MikroORM's default of
 * inlining the values into the text: PostgreSQL then parses each statement once per connection and
 * can keep its plan, and Node skips quoting every value. Results and logging are MikroORM's.
 */
export class PreparedStatementConnection extends PostgreSqlConnection {
  override async execute<T>(
    queryOrKnex: string | Knex.QueryBuilder | Knex.Raw,
    params: unknown[] = [],
    method: 'all' | 'get' | 'run' = 'all',
    ctx?: Knex.Transaction,
    loggerContext?: Parameters<PostgreSqlConnection['execute']>[4],
  ): Promise<T> {
    const bound = typeof queryOrKnex === 'string' && params.length > 0 ? bindable(params) : null;
    if (typeof queryOrKnex !== 'string' || bound === null) {
      return super.execute<T & object>(queryOrKnex, params, method, ctx, loggerContext);
    }
    await this.ensureConnection();
    const sql = bound.sql(queryOrKnex);
    const name = nameOf(sql);
    // Logged as written, without its values.
    return this.executeQuery(
      queryOrKnex,
      async () => {
        const query = this.getKnex().raw(sql, bound.values);
        if (name !== undefined) query.options({ name });
        if (ctx) query.transacting(ctx);
        return this.transformRawResult<T>(await query, method);
      },
      { query: queryOrKnex, params, ...loggerContext },
    );
  }
}

/** MikroORM's PostgreSQL driver over PreparedStatementConnection. */
export class PreparedStatementDriver extends AbstractSqlDriver<PreparedStatementConnection, PostgreSqlPlatform> {
  constructor(config: Configuration) {
    super(config, new PostgreSqlPlatform(), PreparedStatementConnection, ['knex', 'pg']);
  }
}
