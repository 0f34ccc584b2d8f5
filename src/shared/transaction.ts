import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { isStalePreparedStatement, PgConnection } from '../db/pg-driver.js';
import type { SqlFragment } from './sql.js';

const MAX_ATTEMPTS = 10;

/** The SQLSTATEs after which a whole transaction may run again, by name. */
const RETRYABLE: Readonly<Record<string, string>> = {
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
};

/** Why `error` may be retried (e.g. "deadlock_detected (40P01)"), or null when it may not. */
function retryableCause(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && Object.hasOwn(RETRYABLE, code)) return `${RETRYABLE[code]} (${code})`;
  // Its statements are prepared again under new names on the next attempt.
  if (isStalePreparedStatement(error)) return 'stale prepared statement (0A000)';
  if (error instanceof DeadlockException) return 'deadlock';
  if (error instanceof LockWaitTimeoutException) return 'lock wait timeout';
  return null;
}

let retries = 0;
type RetryListener = (cause: string, attempt: number, maxAttempts: number) => void;
const retryListeners = new Set<RetryListener>();

/** Calls `listener` on every retry in this process (for logs and metrics); returns its removal. */
export function onTransactionRetry(listener: RetryListener): () => void {
  retryListeners.add(listener);
  return () => retryListeners.delete(listener);
}

/**
 * How many transactions this process has run again since it started. Locks are taken in one
 * order (src/routing/router.ts), so under any load this should stay at 0: each retry is a lock
 * cycle or a lock timeout that the order did not prevent.
 */
export function transactionRetries(): number {
  return retries;
}

type Hook = () => Promise<void>;
const beforeCommitHooks = new WeakMap<EntityManager, Map<unknown, Hook>>();
const afterCommitHooks = new WeakMap<EntityManager, Array<() => void>>();

/**
 * Runs `hook` at the end of `tx`'s work, still inside the transaction (once per `key`).
 * Throws when `tx` is not a transaction started by inTransaction: work that must commit
 * together must not silently run outside one.
 */
export function beforeCommit(tx: EntityManager, key: unknown, hook: Hook): void {
  const hooks = beforeCommitHooks.get(tx);
  if (!hooks) throw new Error('beforeCommit() outside inTransaction()');
  if (!hooks.has(key)) hooks.set(key, hook);
}

/**
 * Runs `hook` once `tx` has committed; never when it rolls back (nor for an attempt that is
 * retried). For bookkeeping outside the database, e.g. metrics: it must not throw.
 */
export function afterCommit(tx: EntityManager, hook: () => void): void {
  const hooks = afterCommitHooks.get(tx);
  if (!hooks) throw new Error('afterCommit() outside inTransaction()');
  hooks.push(hook);
}

/** The rows of a statement sent with its transaction's COMMIT (executeAtCommit). */
export interface AtCommit<T> {
  /** Settles once the statement has run: await it only after the transaction has committed. */
  readonly rows: Promise<T[]>;
}

/**
 * Runs `statement` as late as `tx` allows: with its COMMIT, in the same round trip, or just before
 * the next statement `tx` runs, so statements keep their order. Locks it needs must already be
 * held, so running it late changes no outcome. Its rows come only once it has run, so within
 * the transaction nothing may wait for them (nothing would send it).
 */
export function executeAtCommit<T extends object>(tx: EntityManager, statement: SqlFragment): AtCommit<T> {
  if (!afterCommitHooks.has(tx)) throw new Error('executeAtCommit() outside inTransaction()');
  const connection = tx.getConnection();
  if (!(connection instanceof PgConnection)) throw new Error('executeAtCommit() needs the PostgreSQL connection');
  return { rows: connection.executeAtCommit<T>(tx.getTransactionContext(), statement.sql, [...statement.params]) };
}

/**
 * Runs `work` in one transaction (flushed and committed at the end, rolled back on error).
 * A transaction Postgres aborts to break a deadlock (or a serialization failure, or a lock
 * timeout, or a prepared statement a migration made stale) runs again from the start: a safety
 * net behind the lock order, counted and logged.
 */
export async function inTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(em, work);
    } catch (error) {
      const cause = retryableCause(error);
      if (attempt >= MAX_ATTEMPTS || cause === null) throw error;
      retries++;
      // The cause only: the driver's message carries the statement and its values.
      for (const listener of retryListeners) listener(cause, attempt + 1, MAX_ATTEMPTS);
      // Exponential, jittered backoff: the transaction that won the deadlock gets time to
      // finish before this one takes its first lock again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 25 * 2 ** attempt)));
    }
  }
}

/**
 * One attempt, on a fork of `em` with an empty identity map. Writes are SQL statements (each
 * feature's `*-record.ts`); the unit of work never flushes. Neither a
 * flush nor `em.transactional()` is used because each runs inside an AsyncLocalStorage, and on
 * Node before 24 the first one turns on promise hooks for the rest of the process: every promise
 * after it (each GraphQL field, socket write and query) costs about twice as much.
 */
async function once<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  // Inside another transaction: a savepoint of it.
  const outer = em.getTransactionContext<Knex.Transaction>();
  const tx = em.fork({ clear: true });
  const hooks = new Map<unknown, Hook>();
  const committed: Array<() => void> = [];
  beforeCommitHooks.set(tx, hooks);
  afterCommitHooks.set(tx, committed);
  await tx.begin({ ctx: outer });
  let result: T;
  try {
    result = await work(tx);
    for (const hook of hooks.values()) await hook();
    assertNothingUnwritten(tx);
    await tx.getConnection('write').commit(tx.getTransactionContext<Knex.Transaction>()!);
  } catch (error) {
    // Also after a failed COMMIT: the driver ends what is left of the transaction.
    await tx.rollback();
    throw error;
  }
  for (const hook of committed) hook();
  return result;
}

/** An entity changed, created or removed through the unit of work would be lost: a bug, said loudly. */
function assertNothingUnwritten(tx: EntityManager): void {
  const uow = tx.getUnitOfWork();
  uow.computeChangeSets();
  const unwritten = uow.getChangeSets().map((change) => `${change.type} ${change.name}`);
  if (unwritten.length > 0) throw new Error(`entity changes left to a flush that never comes: ${unwritten.join(', ')}`);
}
