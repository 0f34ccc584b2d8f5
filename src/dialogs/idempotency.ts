import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { BadInputError } from '../shared/errors.js';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** How long a key is remembered: a retry within it returns the first result; after it, the key is new. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600 * 1000;

export function validIdempotencyKey(key: string | null | undefined): string | null {
  if (key == null) return null;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadInputError('idempotencyKey', `idempotencyKey must be 1..${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  return key;
}

/** What a call was asked to do, as stored with its key: the operation and its arguments. */
export interface IdempotentCall {
  readonly operation: string;
  readonly args: ReadonlyArray<string | null>;
}

function fingerprintOf(call: IdempotentCall): string {
  return createHash('sha256')
    .update(JSON.stringify([call.operation, ...call.args]))
    .digest('base64url');
}

/**
 * Runs `work` once per (scope, key). A repeat must be the same call (operation and arguments):
 * a key reused for anything else is refused rather than answered with an unrelated result. A
 * repeat returns the first call's result id without running anything. A concurrent repeat
 * waits on the key's row until the first commits (or rolls back, and then runs itself). Must
 * be called inside the mutation's transaction.
 */
export async function once(
  tx: EntityManager,
  scope: string,
  key: string | null,
  call: IdempotentCall,
  at: Date,
  work: () => Promise<string>,
): Promise<string> {
  if (key === null) return work();
  const { operation } = call;
  const fingerprint = fingerprintOf(call);
  // A key older than its time to live counts as new: it is taken over as if it were not there.
  const inserted = await tx.execute<unknown[]>(
    `insert into idempotency_keys (scope, key, operation, fingerprint, created_at) values (?, ?, ?, ?, ?)
     on conflict (scope, key) do update
        set operation = excluded.operation, fingerprint = excluded.fingerprint, created_at = excluded.created_at, result_id = null
      where idempotency_keys.created_at < ?
     returning key`,
    [scope, key, operation, fingerprint, at, new Date(at.getTime() - IDEMPOTENCY_KEY_TTL_MS)],
  );
  if (inserted.length === 0) {
    const [first] = await tx.execute<Array<{ operation: string; fingerprint: string | null; result_id: string }>>(
      'select operation, fingerprint, result_id from idempotency_keys where scope = ? and key = ?',
      [scope, key],
    );
    if (!first || first.operation !== operation) {
      throw new BadInputError('idempotencyKey', `idempotencyKey was already used for ${first?.operation ?? 'another call'}`);
    }
    // Keys stored before fingerprints existed match any arguments.
    if (first.fingerprint !== null && first.fingerprint !== fingerprint) {
      throw new BadInputError('idempotencyKey', `idempotencyKey was already used for ${operation} with other arguments`);
    }
    return first.result_id;
  }
  const resultId = await work();
  await tx.execute('update idempotency_keys set result_id = ? where scope = ? and key = ?', [resultId, scope, key]);
  return resultId;
}

/** Forgets keys created before `before` (the sweep passes now minus their time to live). */
export async function pruneIdempotencyKeys(tx: EntityManager, before: Date): Promise<void> {
  await tx.execute('delete from idempotency_keys where created_at < ?', [before]);
}
