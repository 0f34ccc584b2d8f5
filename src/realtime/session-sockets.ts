import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../auth/viewer.js';
import type { RunningServer } from '../server.js';

/** WebSocket close code for a connection whose token no longer authenticates. */
export const SESSION_ENDED_CODE = 4401;

/**
 * Closes the open WebSockets (those matching `which`) whose token no longer authenticates:
 * revoked, expired at `now`, or its user deleted. One query however many sockets are
 * checked. Returns how many were closed.
 */
export async function closeRevokedSockets(
  em: EntityManager,
  server: Pick<RunningServer, 'sockets'>,
  now: Date,
  which: (viewer: Viewer) => boolean = () => true,
): Promise<number> {
  const checked = [...server.sockets].filter((info) => info.viewer.tokenId !== null && which(info.viewer));
  if (checked.length === 0) return 0;
  const tokenIds = [...new Set(checked.map((info) => info.viewer.tokenId!))];
  // One array parameter, not one placeholder per id: thousands of sockets stay one statement.
  const valid = await em.execute<Array<{ id: string }>>(
    `select t.id from auth_tokens t
       left join users u on u.id = t.user_id
      where t.id = any(?::uuid[]) and t.revoked_at is null and (t.expires_at is null or t.expires_at > ?)
        and (t.user_id is null or u.deleted_at is null)`,
    [`{${tokenIds.join(',')}}`, now],
  );
  const stillValid = new Set(valid.map((r) => r.id));
  let closed = 0;
  for (const info of checked) {
    if (stillValid.has(info.viewer.tokenId!) || !server.sockets.has(info)) continue;
    info.socket.close(SESSION_ENDED_CODE, 'Session ended');
    closed++;
  }
  return closed;
}
