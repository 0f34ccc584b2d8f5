import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { TooManyRequestsError } from '../shared/errors.js';

/** The table our migration creates in the store's layout (the store never creates it). */
const TABLE = 'login_throttle';
/** Counters whose window ended this long ago are deleted. */
const KEEP_EXPIRED_MS = 60 * 60 * 1000;

export interface LoginLimits {
  readonly maxFailuresPerEmail: number;
  readonly maxFailuresPerAddress: number;
  readonly windowSec: number;
}

/**
 * Counts failed password checks per email and per client address in PostgreSQL, so the limits
 * hold across server instances. Each attempt is counted before the password is checked (one
 * atomic upsert per key, so concurrent guesses cannot slip past the limit) and refunded when it
 * succeeds: only failures use up the limits. A success also forgets the email's failures. The
 * windows are fixed (they start with the first failure) and use the wall clock.
 */
export class LoginThrottle {
  private readonly byEmail: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;

  constructor(
    private readonly rootEm: EntityManager,
    limits: LoginLimits,
    /** Told of each refused attempt and which limit refused it. */
    private readonly onRefused: (limit: 'email' | 'address') => void = () => undefined,
  ) {
    const store = {
      storeClient: rootEm.getKnex(),
      storeType: 'knex',
      tableName: TABLE,
      tableCreated: true,
      clearExpiredByTimeout: false,
    };
    this.byEmail = new RateLimiterPostgres({
      ...store,
      keyPrefix: 'email',
      points: limits.maxFailuresPerEmail,
      duration: limits.windowSec,
    });
    this.byAddress = new RateLimiterPostgres({
      ...store,
      keyPrefix: 'address',
      points: limits.maxFailuresPerAddress,
      duration: limits.windowSec,
    });
  }

  /** Counts an attempt; TOO_MANY_REQUESTS (with `retryAfterSec`) when either limit is used up. */
  async attempt(email: string, address: string | null): Promise<void> {
    if (address !== null) await this.consume(this.byAddress, address, 'address');
    await this.consume(this.byEmail, emailKey(email), 'email');
  }

  /** The attempt was right: it does not count against the address, and the email starts afresh. */
  async succeeded(email: string, address: string | null): Promise<void> {
    if (address !== null) await this.byAddress.reward(address, 1);
    await this.byEmail.delete(emailKey(email));
  }

  /** Deletes counters whose window ended over an hour ago (one indexed statement). */
  async purgeExpired(): Promise<number> {
    const [row] = await this.rootEm
      .fork()
      .execute<Array<{ n: number }>>(
        `with gone as (delete from ${TABLE} where expire < ? returning 1) select count(*)::int as n from gone`,
        [Date.now() - KEEP_EXPIRED_MS],
      );
    return row?.n ?? 0;
  }

  private async consume(limiter: RateLimiterPostgres, key: string, limit: 'email' | 'address'): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (rejection) {
      // Over the limit rejects with the counter's state; a store failure rejects with an Error.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      this.onRefused(limit);
      throw new TooManyRequestsError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
    }
  }
}

/** Emails are stored hashed (the table is read by nobody, but need not hold addresses). */
function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}
