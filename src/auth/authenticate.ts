import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from './role.js';
import { tokenHash, tokensEqual } from './secrets.js';
import type { Viewer } from './viewer.js';

interface TokenRow {
  id: string;
  role: Role;
  user_id: string | null;
  operator_id: string | null;
}

/**
 * Resolves a bearer token to its viewer, or null when it is unknown, revoked or belongs to a
 * deleted account. One statement per call.
 */
export async function authenticate(
  em: EntityManager,
  token: string | undefined,
  adminToken: string | undefined,
): Promise<Viewer | null> {
  if (!token) return null;
  if (adminToken !== undefined && tokensEqual(token, adminToken)) {
    return { role: Role.ADMIN, tokenId: null, userId: null, operatorId: null };
  }
  const rows = await em.execute<TokenRow[]>(
    `select t.id, t.role, t.user_id, o.id as operator_id
       from auth_tokens t
       left join users u on u.id = t.user_id
       left join operators o on o.user_id = t.user_id and o.deleted_at is null
      where t.token_hash = ? and t.revoked_at is null
        and (t.user_id is null or u.deleted_at is null)`,
    [tokenHash(token)],
  );
  const row = rows[0];
  if (!row) return null;
  return { role: row.role, tokenId: row.id, userId: row.user_id, operatorId: row.operator_id };
}
