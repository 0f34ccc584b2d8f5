import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventSink } from '../realtime/events.js';

/**
 * Revokes a user's login sessions (all, or the given ones) inside the caller's transaction and
 * announces it, so every server process closes those sessions' WebSockets after the commit.
 * The announcement names the user only: a user may hold any number of sessions, and a
 * NOTIFY payload is limited to 8000 bytes. Receivers re-check that user's sockets' tokens.
 */
export async function endSessions(
  tx: EntityManager,
  events: EventSink,
  userId: string,
  at: Date,
  onlyTokenIds?: readonly string[],
): Promise<string[]> {
  const rows = await tx.execute<Array<{ id: string }>>(
    `update auth_tokens set revoked_at = ?
      where user_id = ? and kind = 'SESSION' and revoked_at is null
        ${onlyTokenIds ? (onlyTokenIds.length ? 'and id in (?)' : 'and false') : ''}
      returning id`,
    onlyTokenIds?.length ? [at, userId, onlyTokenIds] : [at, userId],
  );
  const tokenIds = rows.map((r) => r.id);
  if (tokenIds.length) await events.publish(tx, { kind: 'session_ended', userId });
  return tokenIds;
}
