import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

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
  if (error instanceof DeadlockException) return 'deadlock';
  if (error instanceof LockWaitTimeoutException) return 'lock wait timeout';
  return null;
}

let retries = 0;

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
 * Runs `work` in one transaction (flushed and committed at the end, rolled back on error).
 * A transaction Postgres aborts to break a deadlock (or a serialization failure, or a lock
 * timeout) runs again from the start: a safety net behind the lock order, counted and logged.
 */
export async function inTransaction<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await em.transactional(
        async (tx) => {
          const hooks = new Map<unknown, Hook>();
          beforeCommitHooks.set(tx, hooks);
          const result = await work(tx);
          await tx.flush();
          for (const hook of hooks.values()) await hook();
          return result;
        },
        { clear: true },
      );
    } catch (error) {
      const cause = retryableCause(error);
      if (attempt >= MAX_ATTEMPTS || cause === null) throw error;
      retries++;
      // The cause only: the driver's message carries the statement and its values.
      console.warn(`[handover] transaction retried after ${cause}: attempt ${attempt + 1} of ${MAX_ATTEMPTS}`);
      // Exponential, jittered backoff: the transaction that won the deadlock gets time to
      // finish before this one takes its first lock again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 25 * 2 ** attempt)));
    }
  }
}
