import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from './role.js';
import type { Viewer } from './viewer.js';

/** A token's last use (and a session's expiry) is written at most this often, not per request. */
export const TOUCH_INTERVAL_SEC = 60;

export interface LookupOptions {
  readonly now: Date;
  /** A session used now lives this much longer. */
  readonly sessionTtlSec: number;
}

/** A token's viewer as the database answered, and until when that answer may be reused. */
export interface TokenLookup {
  readonly viewer: Viewer;
  /** The token's expiry or its next touch, whichever comes first. */
  readonly until: Date;
}

interface TokenRow {
  id: string;
  role: Role;
  user_id: string | null;
  operator_id: string | null;
  /** The driver may hand timestamps over as text. */
  last_used_at: Date | string;
  expires_at: Date | string | null;
}

/**
 * Resolves a token (by its hash) to its viewer, or null when it is unknown, revoked, expired or
 * belongs to a deleted account. One statement per call: when the token was last used over a
 * minute ago, the same statement records the use and slides a session's expiry forward.
 */
export async function lookupToken(em: EntityManager, hash: string, options: LookupOptions): Promise<TokenLookup | null> {
  const { now } = options;
  const expiresAt = new Date(now.getTime() + options.sessionTtlSec * 1000);
  const staleBefore = new Date(now.getTime() - TOUCH_INTERVAL_SEC * 1000);
  // A data-modifying WITH runs whether or not the outer select reads it; its RETURNING gives
  // the row as this statement left it (the outer select sees `found` as it was before).
  const rows = await em.execute<TokenRow[]>(
    `with found as (
       select t.id, t.kind, t.role, t.user_id, t.last_used_at, t.expires_at, o.id as operator_id
         from auth_tokens t
         left join users u on u.id = t.user_id
         left join operators o on o.user_id = t.user_id and o.deleted_at is null
        where t.token_hash = ? and t.revoked_at is null
          and (t.expires_at is null or t.expires_at > ?)
          and (t.user_id is null or u.deleted_at is null)
     ), touched as (
       update auth_tokens t
          set last_used_at = ?, expires_at = case when t.kind = 'SESSION' then ?::timestamptz else null end
         from found f
        where t.id = f.id and (f.last_used_at is null or f.last_used_at <= ?)
       returning t.id, t.last_used_at, t.expires_at
     )
     select f.id, f.role, f.user_id, f.operator_id,
            coalesce(u.last_used_at, f.last_used_at) as last_used_at,
            case when u.id is null then f.expires_at else u.expires_at end as expires_at
       from found f left join touched u on u.id = f.id`,
    [hash, now, now, expiresAt, staleBefore],
  );
  const row = rows[0];
  if (!row) return null;
  const touchDue = new Date(row.last_used_at).getTime() + TOUCH_INTERVAL_SEC * 1000;
  const expires = row.expires_at === null ? Infinity : new Date(row.expires_at).getTime();
  return {
    viewer: { role: row.role, tokenId: row.id, userId: row.user_id, operatorId: row.operator_id },
    until: new Date(Math.min(touchDue, expires)),
  };
}
