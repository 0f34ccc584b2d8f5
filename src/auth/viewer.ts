import type { DomainEvent } from '../events/domain-event.js';
import { Role } from './role.js';

/** Who is calling, resolved from the bearer token once per operation (or per WebSocket). */
export interface Viewer {
  readonly role: Role;
  /** The token row; null for ADMIN_TOKEN. */
  readonly tokenId: string | null;
  /** Set for login sessions. */
  readonly userId: string | null;
  /** Set when the session's user is an operator. */
  readonly operatorId: string | null;
}

/**
 * The viewers a committed event ends: their token no longer authenticates as it did. Null for
 * events that change no viewer. Every change to what `lookupToken` answers is announced so.
 */
export function viewersEndedBy(event: DomainEvent): ((viewer: Viewer) => boolean) | null {
  switch (event.kind) {
    case 'session_ended':
      return (viewer) => viewer.userId === event.userId;
    case 'token_revoked':
      return (viewer) => viewer.tokenId === event.tokenId;
    default:
      return null;
  }
}

export function isStaff(viewer: Viewer): boolean {
  return viewer.role === Role.ADMIN || viewer.role === Role.SUPERVISOR;
}

/** "Bearer <token>" → "<token>"; anything else → undefined. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
