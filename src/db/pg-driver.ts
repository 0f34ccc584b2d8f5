import { createHash } from 'node:crypto';
import {
  AbstractSqlDriver,
  EventType,
  PostgreSqlConnection,
  PostgreSqlPlatform,
  type Configuration,
  type Knex,
} from '@mikro-orm/postgresql';
import type pg from 'pg';
import { beginWith, PREPARED_BEGIN } from './begin-with-statement.js';
import { PREPARED_COMMIT, statementThenCommit } from './commit-with-statement.js';
import { positional } from './placeholders.js';
import { PLAN_PER_CALL } from './plan-per-call.js';
import { PooledTransaction, type HeldStatement } from './pooled-transaction.js';

/** Distinct statement texts given a name (each name is parsed once per pooled connection). */
const MAX_NAMED = 500;

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

/** Pooled connections that have PREPARED_BEGIN parsed. */
/**
 * Whether a statement's error ended its connection: the server's FATAL or PANIC answer (it was
 * terminated, the server is shutting down), or no answer at all (the socket failed).
 */
function connectionEnded(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity;
  return severity === undefined || severity === 'FATAL' || severity === 'PANIC';
}

const beginPrepared = new WeakSet<pg.Client>();
/** Pooled connections that have PREPARED_COMMIT parsed. */
const commitPrepared = new WeakSet<pg.Client>();

/** The part of knex's client this connection uses: its pool of pg connections. */
interface ConnectionPool {
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

type BeginOptions = NonNullable<Parameters<PostgreSqlConnection['begin']>[0]>;
type Broadcaster = BeginOptions['eventBroadcaster'];
type LogContext = BeginOptions['loggerContext'];

/**
 * MikroORM's PostgreSQL connection, sending statements to pg itself rather than through knex
 * (knex still builds the ORM's queries and keeps the pool):
 * - raw SQL with bound values goes out as a named prepared statement, instead of MikroORM's
 *   default of writing the values into the text: PostgreSQL parses each statement once per
 *   connection and can keep its plan, and Node skips quoting every value;
 * - a transaction is BEGIN and COMMIT on a pooled connection (PooledTransaction), instead of a
 *   knex transaction, which builds a whole knex instance for each one. BEGIN goes out with the
 *   transaction's first statement that has values (begin-with-statement.ts), so it costs no round
 *   trip of its own; a transaction that runs no statement sends nothing, and one whose only
 *   statement was held for its COMMIT sends that statement alone.
 * Results, logging and errors are MikroORM's as before.
 */
export class PgConnection extends PostgreSqlConnection {
  override async execute<T>(
    queryOrKnex: string | Knex.QueryBuilder | Knex.Raw,
    params: unknown[] = [],
    method: 'all' | 'get' | 'run' = 'all',
    ctx?: unknown,
    loggerContext?: Parameters<PostgreSqlConnection['execute']>[4],
  ): Promise<T> {
    await this.ensureConnection();
    let transaction = PooledTransaction.of(ctx);
    let sql: string;
    if (typeof queryOrKnex === 'string') {
      sql = queryOrKnex;
    } else {
      transaction ??= PooledTransaction.boundTo(queryOrKnex);
      const compiled = queryOrKnex.toSQL();
      sql = compiled.sql;
      params = [...(compiled.bindings ?? [])];
    }
    sql = this.config.get('onQuery')(sql, params);
    const query = this.queryOf(sql, params);
    // Logged as written, without its values.
    const run = (): Promise<T> =>
      this.executeQuery(
        sql,
        async () => this.transformRawResult<T>(await this.send(transaction, query(), loggerContext), method),
        {
          query: sql,
          params,
          ...loggerContext,
        },
      );
    try {
      return await run();
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      forgetPreparedStatements();
      // Inside a transaction the error has aborted it: inTransaction runs it again from the start.
      if (transaction) throw error;
      return run();
    }
  }

  /**
   * Holds `sql` for the transaction's COMMIT and sends both in one round trip; if the transaction
   * runs another statement first, `sql` goes out just before it, so statements keep their order.
   * The rows come once it has run: await them only after the transaction has committed (inside
   * it, nothing would send the statement). A savepoint runs `sql` at once.
   */
  executeAtCommit<T>(ctx: unknown, sql: string, params: unknown[]): Promise<T[]> {
    const transaction = PooledTransaction.of(ctx);
    if (transaction === null) throw new Error('executeAtCommit() outside a transaction');
    if (transaction.savepoint !== null) return this.execute<T[]>(sql, params, 'all', ctx);
    const written = this.config.get('onQuery')(sql, params);
    const query = this.queryOf(written, params)();
    const rows = new Promise<T[]>((resolve, reject) => {
      transaction.held.push({
        sql: written,
        params,
        query,
        done: (result) => resolve(this.transformRawResult<T[]>(result, 'all')),
        failed: reject,
      });
    });
    // Awaited, if at all, after the commit it rode with; a rollback leaves it rejected, unread.
    rows.catch(() => undefined);
    return rows;
  }

  /** `sql` with its values as a pg query, built per run: a retry after a stale statement takes its new name. */
  private queryOf(sql: string, params: unknown[]): () => pg.QueryConfig {
    const bound = params.length > 0 ? positional(sql, params, (id) => this.platform.quoteIdentifier(id)) : null;
    // Values the driver cannot bind (bytes, objects, empty lists) are written in, as MikroORM does.
    return () => {
      if (bound === null) return { text: this.platform.formatQuery(sql, params) };
      const name = sql.startsWith(PLAN_PER_CALL) ? undefined : nameOf(bound.text);
      return name === undefined ? { text: bound.text, values: bound.values } : { name, text: bound.text, values: bound.values };
    };
  }

  override async begin(options: BeginOptions = {}): Promise<Knex.Transaction> {
    await this.ensureConnection();
    const parent = PooledTransaction.of(options.ctx);
    if (parent === null) await options.eventBroadcaster?.dispatchEvent(EventType.beforeTransactionStart);
    const connection = parent?.connection ?? (await this.pool().acquireConnection());
    const tx = new PooledTransaction(connection, parent, this.pool());
    const statements = tx.savepoint
      ? [this.platform.getSavepointSQL(tx.savepoint)]
      : this.platform.getBeginTransactionSQL(options);
    if (tx.savepoint === null && statements.length === 1 && statements[0] === PREPARED_BEGIN.text) {
      // A plain BEGIN waits for the first statement, to go out with it.
      tx.beginPending = true;
    } else {
      try {
        if (parent !== null) {
          await this.sendHeld(parent.root, options.loggerContext);
          await this.sendBegin(parent, options.loggerContext);
        }
        for (const statement of statements) await connection.query(statement);
      } catch (error) {
        if (parent === null) await this.pool().releaseConnection(connection);
        throw error;
      }
      for (const statement of statements) this.logQuery(statement, options.loggerContext);
    }
    if (parent === null) await options.eventBroadcaster?.dispatchEvent(EventType.afterTransactionStart, tx.asContext());
    return tx.asContext();
  }

  override async commit(ctx: Knex.Transaction, eventBroadcaster?: Broadcaster, loggerContext?: LogContext): Promise<void> {
    const tx = this.transaction(ctx);
    const root = tx.parent === null;
    if (root) await eventBroadcaster?.dispatchEvent(EventType.beforeTransactionCommit, ctx);
    if (root && (await this.commitWithHeld(tx, loggerContext))) {
      await eventBroadcaster?.dispatchEvent(EventType.afterTransactionCommit, ctx);
      return;
    }
    const statement = this.endingStatement(tx, 'commit');
    try {
      if (statement === PREPARED_COMMIT.text) {
        await tx.connection.query(PREPARED_COMMIT);
        commitPrepared.add(tx.connection);
      } else if (statement !== null) {
        await tx.connection.query(statement);
      }
    } finally {
      // A COMMIT that fails has ended the transaction too (PostgreSQL rolled it back).
      if (root) await this.finish(tx);
    }
    if (statement !== null) this.logQuery(statement, loggerContext);
    if (root) await eventBroadcaster?.dispatchEvent(EventType.afterTransactionCommit, ctx);
  }

  /**
   * Sends the transaction's held statements, the last one with COMMIT in the same round trip when
   * it can (it has values, the transaction has begun, and this connection has COMMIT prepared);
   * whether that committed. False leaves the COMMIT to the caller, with nothing held.
   */
  private async commitWithHeld(tx: PooledTransaction, loggerContext?: LogContext): Promise<boolean> {
    const last = tx.held.pop();
    try {
      await this.sendHeld(tx, loggerContext);
    } catch (error) {
      last?.failed(error);
      throw error;
    }
    if (last === undefined) return false;
    // The transaction is this one statement: PostgreSQL runs it as a transaction of its own,
    // in one round trip.
    if (tx.beginPending) return this.sendAlone(tx, last, loggerContext);
    if (last.query.values === undefined || !commitPrepared.has(tx.connection)) {
      tx.held.push(last);
      await this.sendHeld(tx, loggerContext);
      return false;
    }
    const outcome = await statementThenCommit(tx.connection, last.query);
    this.logHeld(last, loggerContext);
    if (!outcome.ok) {
      last.failed(outcome.error);
      if (isStalePreparedStatement(outcome.error)) forgetPreparedStatements();
      // A failed statement left the transaction open, aborted: the rollback that follows ends it.
      if (!outcome.transactionOpen) await this.finish(tx);
      throw outcome.error;
    }
    this.logQuery(PREPARED_COMMIT.text, loggerContext);
    await this.finish(tx);
    last.done(outcome.result);
    return true;
  }

  /** Runs a transaction's only statement without BEGIN and COMMIT (an implicit transaction); true once committed. */
  private async sendAlone(tx: PooledTransaction, statement: HeldStatement, loggerContext?: LogContext): Promise<true> {
    let result: pg.QueryResult;
    try {
      result = await tx.connection.query(statement.query);
    } catch (error) {
      statement.failed(error);
      if (isStalePreparedStatement(error)) forgetPreparedStatements();
      throw error;
    } finally {
      // Nothing was begun: the failed statement ended its own transaction too.
      await this.finish(tx);
      this.logHeld(statement, loggerContext);
    }
    statement.done(result);
    return true;
  }

  /** Logs a held statement as MikroORM logs any other, with its values. */
  private logHeld(statement: HeldStatement, loggerContext?: LogContext): void {
    this.logQuery(statement.sql, { query: statement.sql, params: [...statement.params], ...loggerContext });
  }

  override async rollback(ctx: Knex.Transaction, eventBroadcaster?: Broadcaster, loggerContext?: LogContext): Promise<void> {
    const tx = this.transaction(ctx);
    if (tx.finished) return;
    const root = tx.parent === null;
    if (root) {
      for (const held of tx.held.splice(0)) held.failed(new Error('the transaction rolled back before this statement ran'));
      await eventBroadcaster?.dispatchEvent(EventType.beforeTransactionRollback, ctx);
    }
    const statement = this.endingStatement(tx, 'rollback');
    try {
      if (statement !== null) await tx.connection.query(statement);
    } catch (error) {
      if (!root) throw error;
      // A connection that cannot roll back is not fit for another transaction: once ended, the
      // pool discards it instead of lending it again. The error that caused the rollback is the
      // one the caller sees.
      await tx.connection.end().catch(() => undefined);
    } finally {
      if (root) await this.finish(tx);
    }
    if (statement !== null) this.logQuery(statement, loggerContext);
    if (root) await eventBroadcaster?.dispatchEvent(EventType.afterTransactionRollback, ctx);
  }

  /** What ends `tx` (or its savepoint) this way; null when no statement ran, so nothing was begun. */
  private endingStatement(tx: PooledTransaction, way: 'commit' | 'rollback'): string | null {
    if (tx.beginPending) return null;
    if (tx.savepoint === null) {
      return way === 'commit' ? this.platform.getCommitTransactionSQL() : this.platform.getRollbackTransactionSQL();
    }
    return way === 'commit'
      ? this.platform.getReleaseSavepointSQL(tx.savepoint)
      : this.platform.getRollbackToSavepointSQL(tx.savepoint);
  }

  /**
   * Runs one statement: in the transaction (after its held statements; beginning it if still
   * pending), else on a connection borrowed for it.
   */
  private async send(
    transaction: PooledTransaction | null,
    query: pg.QueryConfig,
    loggerContext?: LogContext,
  ): Promise<pg.QueryResult> {
    if (transaction) {
      await this.sendHeld(transaction.root, loggerContext);
      return this.sendInTransaction(transaction, query, loggerContext);
    }
    const pool = this.pool();
    const connection = await pool.acquireConnection();
    try {
      return await connection.query(query);
    } catch (error) {
      // Released before its socket reports the end, it would be lent again, to fail the next request.
      if (connectionEnded(error)) await connection.end().catch(() => undefined);
      throw error;
    } finally {
      await pool.releaseConnection(connection);
    }
  }

  /** Sends the statements held for `root`'s COMMIT, in order; a failure fails those after it too. */
  private async sendHeld(root: PooledTransaction, loggerContext?: LogContext): Promise<void> {
    while (root.held.length > 0) {
      const held = root.held.shift()!;
      let result: pg.QueryResult;
      try {
        result = await this.sendInTransaction(root, held.query, loggerContext);
      } catch (error) {
        held.failed(error);
        for (const after of root.held.splice(0)) after.failed(error);
        throw error;
      } finally {
        this.logHeld(held, loggerContext);
      }
      held.done(result);
    }
  }

  /** Runs one statement in the transaction, beginning it if still pending. */
  private async sendInTransaction(
    transaction: PooledTransaction,
    query: pg.QueryConfig,
    loggerContext?: LogContext,
  ): Promise<pg.QueryResult> {
    const { connection } = transaction;
    // With values, the statement goes out through the extended protocol, which can carry BEGIN ahead of it.
    if (transaction.beginPending && query.values !== undefined && beginPrepared.has(connection)) {
      transaction.beginPending = false;
      this.logQuery(PREPARED_BEGIN.text, loggerContext);
      return beginWith(connection, query);
    }
    await this.sendBegin(transaction, loggerContext);
    return connection.query(query);
  }

  /**
   * Sends a pending BEGIN on its own, preparing it on this connection for later transactions. Only
   * a transaction itself can be pending: a savepoint is taken after its transaction has begun.
   */
  private async sendBegin(transaction: PooledTransaction, loggerContext?: LogContext): Promise<void> {
    if (!transaction.beginPending) return;
    transaction.beginPending = false;
    await transaction.connection.query(PREPARED_BEGIN);
    beginPrepared.add(transaction.connection);
    this.logQuery(PREPARED_BEGIN.text, loggerContext);
  }

  private transaction(ctx: Knex.Transaction): PooledTransaction {
    const tx = PooledTransaction.of(ctx);
    if (tx === null) throw new Error('no transaction to end');
    return tx;
  }

  private async finish(tx: PooledTransaction): Promise<void> {
    tx.finished = true;
    await this.pool().releaseConnection(tx.connection);
  }

  /** knex's client, which owns the pool. */
  private pool(): ConnectionPool {
    return this.getKnex().client as ConnectionPool;
  }
}

/** MikroORM's PostgreSQL driver over PgConnection. */
export class PgDriver extends AbstractSqlDriver<PgConnection, PostgreSqlPlatform> {
  constructor(config: Configuration) {
    super(config, new PostgreSqlPlatform(), PgConnection, ['knex', 'pg']);
  }
}
