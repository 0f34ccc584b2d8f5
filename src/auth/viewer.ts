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

export function isStaff(viewer: Viewer): boolean {
  return viewer.role === Role.ADMIN || viewer.role === Role.SUPERVISOR;
}

/** "Bearer <token>" → "<token>"; anything else → undefined. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
