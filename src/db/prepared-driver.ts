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
function positional(sql: string, params: readonly unknown[], quoteIdentifier: (id: string) => string): Bound | null {
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

interface Bound {
  readonly text: string;
  readonly values: Scalar[];
}

const names = new Map<string, string>();
/** Part of every name: advanced when a prepared statement has gone stale, so all are parsed afresh. */
let generation = 0;

/** A stable name for `sql`, or undefined once MAX_NAMED texts have one (then it runs unnamed). */
function nameOf(sql: string): string | undefined {
  const known = names.get(sql);
  if (known !== undefined || names.size >= MAX_NAMED) return known;
  const name = `h${generation}_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
  names.set(sql, name);
  return name;
}

/**
 * PostgreSQL refuses to run a prepared statement whose result columns changed since it was
 * prepared (a migration added a column to a table it reads with `*`, say, while this process
 * kept running). SQLSTATE 0A000 also covers other refusals: the message tells them apart.
 */
export function isStalePreparedStatement(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

/** New names for everything: each connection parses its statements again as they are used. */
function forgetPreparedStatements(): void {
  generation++;
  names.clear();
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
    const bound =
      typeof queryOrKnex === 'string' && params.length > 0
        ? positional(queryOrKnex, params, (id) => this.platform.quoteIdentifier(id))
        : null;
    if (typeof queryOrKnex !== 'string' || bound === null) {
      return super.execute<T & object>(queryOrKnex, params, method, ctx, loggerContext);
    }
    await this.ensureConnection();
    // Logged as written, without its values.
    const run = (): Promise<T> =>
      this.executeQuery(
        queryOrKnex,
        async () => {
          const name = nameOf(bound.text);
          // No knex bindings: knex leaves the text alone and pg receives the values as they are.
          const query = this.getKnex()
            .raw(bound.text)
            .options(name === undefined ? { values: bound.values } : { name, values: bound.values });
          if (ctx) query.transacting(ctx);
          return this.transformRawResult<T>(await query, method);
        },
        { query: queryOrKnex, params, ...loggerContext },
      );
    try {
      return await run();
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      forgetPreparedStatements();
      // Inside a transaction the error has aborted it: inTransaction runs it again from the start.
      if (ctx) throw error;
      return run();
    }
  }
}

/** MikroORM's PostgreSQL driver over PreparedStatementConnection. */
export class PreparedStatementDriver extends AbstractSqlDriver<PreparedStatementConnection, PostgreSqlPlatform> {
  constructor(config: Configuration) {
    super(config, new PostgreSqlPlatform(), PreparedStatementConnection, ['knex', 'pg']);
  }
}
