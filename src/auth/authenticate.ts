import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from './role.js';
import { tokenHash, tokensEqual } from './secrets.js';
import type { Viewer } from './viewer.js';

/** A token's last use (and a session's expiry) is written at most this often, not per request. */
export const TOUCH_INTERVAL_SEC = 60;

export interface AuthenticateOptions {
  readonly adminToken: string | undefined;
  readonly now: Date;
  /** A session used now lives this much longer. */
  readonly sessionTtlSec: number;
}

interface TokenRow {
  id: string;
  role: Role;
  user_id: string | null;
  operator_id: string | null;
}

/**
 * Resolves a bearer token to its viewer, or null when it is unknown, revoked, expired or
 * belongs to a deleted account. One statement per call: when the token was last used over a
 * minute ago, the same statement records the use and slides a session's expiry forward.
 */
export async function authenticate(
  em: EntityManager,
  token: string | undefined,
  options: AuthenticateOptions,
): Promise<Viewer | null> {
  if (!token) return null;
  if (options.adminToken !== undefined && tokensEqual(token, options.adminToken)) {
    return { role: Role.ADMIN, tokenId: null, userId: null, operatorId: null };
  }
  const { now } = options;
  const expiresAt = new Date(now.getTime() + options.sessionTtlSec * 1000);
  const staleBefore = new Date(now.getTime() - TOUCH_INTERVAL_SEC * 1000);
  // A data-modifying WITH runs whether or not the outer select reads it.
  const rows = await em.execute<TokenRow[]>(
    `with found as (
       select t.id, t.kind, t.role, t.user_id, t.last_used_at, o.id as operator_id
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
     )
     select id, role, user_id, operator_id from found`,
    [tokenHash(token), now, now, expiresAt, staleBefore],
  );
  const row = rows[0];
  if (!row) return null;
  return { role: row.role, tokenId: row.id, userId: row.user_id, operatorId: row.operator_id };
}
