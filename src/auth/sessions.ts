import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventSink } from '../events/domain-event.js';

/** Which of a user's sessions to end: all, only these, all but the one in use, or those expired by then. */
export type SessionSelection =
  'all' | { readonly only: readonly string[] } | { readonly except: string } | { readonly expiredBy: Date };

/**
 * Revokes a user's login sessions inside the caller's transaction and announces it, so every
 * server process closes those sessions' WebSockets after the commit.
 * The announcement names the user only: a user may hold any number of sessions, and a
 * NOTIFY payload is limited to 8000 bytes. Receivers re-check that user's sockets' tokens.
 */
export async function endSessions(
  tx: EntityManager,
  events: EventSink,
  userId: string,
  at: Date,
  which: SessionSelection = 'all',
): Promise<string[]> {
  let filter = '';
  const params: unknown[] = [at, userId];
  if (which !== 'all' && 'only' in which) {
    filter = which.only.length ? 'and id in (?)' : 'and false';
    if (which.only.length) params.push(which.only);
  } else if (which !== 'all' && 'except' in which) {
    filter = 'and id <> ?';
    params.push(which.except);
  } else if (which !== 'all') {
    filter = 'and expires_at <= ?';
    params.push(which.expiredBy);
  }
  const rows = await tx.execute<Array<{ id: string }>>(
    `update auth_tokens set revoked_at = ?
      where user_id = ? and kind = 'SESSION' and revoked_at is null ${filter}
      returning id`,
    params,
  );
  const tokenIds = rows.map((r) => r.id);
  if (tokenIds.length) await events.publish(tx, { kind: 'session_ended', userId });
  return tokenIds;
}
