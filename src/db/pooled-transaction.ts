import type { Knex } from '@mikro-orm/postgresql';
import type pg from 'pg';

const byClient = new WeakMap<object, PooledTransaction>();

/** A statement waiting to go out with its transaction's COMMIT (PgConnection.executeAtCommit). */
export interface HeldStatement {
  /** As written, for the log. */
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly query: pg.QueryConfig;
  done(result: pg.QueryResult): void;
  failed(error: unknown): void;
}

/**
 * A transaction, or a savepoint inside one, on one pooled connection, begun and ended with plain
 * statements. MikroORM carries it where it would carry a knex transaction; only PgConnection
 * reads it, so nothing per transaction is built beyond this object.
 */
export class PooledTransaction {
  /** The savepoint's name, or null for the transaction itself. */
  readonly savepoint: string | null;
  /** BEGIN is not sent yet: it goes with the transaction's first statement (none, if none runs). */
  beginPending = false;
  /** Set once COMMIT or ROLLBACK has been sent: the connection is back in the pool. */
  finished = false;
  /** In order: the last goes out with COMMIT, all before the transaction's next statement, whichever comes first. Root only. */
  readonly held: HeldStatement[] = [];
  private readonly depth: number;
  private boundClient: object | undefined;

  constructor(
    readonly connection: pg.Client,
    /** The transaction this one is a savepoint in; null for the transaction itself. */
    readonly parent: PooledTransaction | null,
    /** knex's client: a builder bound to this transaction compiles with it. */
    private readonly knexClient: object,
  ) {
    this.depth = parent === null ? 0 : parent.depth + 1;
    this.savepoint = parent === null ? null : `trx${this.depth}`;
  }

  /**
   * What a knex query builder takes from `.transacting(tx)` (the migrator binds its bookkeeping
   * queries this way): a client that compiles like the pool's and names this transaction.
   * Built only when asked for.
   */
  get client(): object {
    if (this.boundClient === undefined) {
      this.boundClient = Object.create(this.knexClient, { transacting: { value: true } }) as object;
      byClient.set(this.boundClient, this);
    }
    return this.boundClient;
  }

  /** The transaction itself (this, or the one this savepoint is in). */
  get root(): PooledTransaction {
    return this.parent === null ? this : this.parent.root;
  }

  /** As MikroORM's transaction context (its type names knex's transaction). */
  asContext(): Knex.Transaction {
    return this as unknown as Knex.Transaction;
  }

  /** The transaction MikroORM handed back as a context; null for none; throws for a foreign one. */
  static of(ctx: unknown): PooledTransaction | null {
    if (ctx === undefined || ctx === null) return null;
    if (ctx instanceof PooledTransaction) return ctx;
    throw new Error('a transaction context this connection did not begin');
  }

  /** The transaction a knex query builder was bound to with `.transacting()`, if any. */
  static boundTo(builder: unknown): PooledTransaction | null {
    const client = (builder as { client?: unknown }).client;
    return (typeof client === 'object' && client !== null && byClient.get(client)) || null;
  }
}
