import { DeadlockException, LockWaitTimeoutException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

const MAX_ATTEMPTS = 10;

function isRetryable(error: unknown): boolean {
  if (error instanceof DeadlockException || error instanceof LockWaitTimeoutException) return true;
  // 40001 serialization_failure, 40P01 deadlock_detected
  const code = (error as { code?: unknown }).code;
  return code === '40001' || code === '40P01';
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
 * Deadlocks between routing decisions that lock the same rows in a different order are
 * resolved by Postgres aborting one of them; that one is retried from the start.
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
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      // Exponential, jittered backoff: the transaction that won the deadlock gets time to
      // finish before this one takes its first lock again.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 25 * 2 ** attempt)));
    }
  }
}
