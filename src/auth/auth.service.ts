import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../shared/clock.js';
import { BadInputError, UnauthenticatedError } from '../shared/errors.js';
import { inTransaction } from '../shared/transaction.js';
import { requiredName } from '../shared/validate.js';
import { User } from '../users/user.entity.js';
import { Operator } from '../operators/operator.entity.js';
import { OperatorStatus } from '../operators/operator-status.js';
import type { OperatorService } from '../operators/operator.service.js';
import { AuthToken, TokenKind } from './auth-token.entity.js';
import { Role } from './role.js';
import { decoyPasswordHash, generateToken, tokenHash, verifyPassword } from './secrets.js';
import type { Viewer } from './viewer.js';
import { endSessions } from './sessions.js';
import type { EventSink } from '../realtime/events.js';

export interface IssuedToken {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** The only time the token itself is available. */
  readonly token: string;
}

/** Logins, logouts and API tokens. */
export class AuthService {
  constructor(
    private readonly clock: Clock,
    private readonly operators: OperatorService,
    private readonly events: EventSink,
  ) {}

  /** Email + password → a session token. The same error for an unknown email and a wrong password. */
  async login(em: EntityManager, email: string, password: string): Promise<{ token: string; user: User }> {
    const user = await em.findOne(User, { email: email.trim().toLowerCase(), deletedAt: null });
    const ok = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash()), password);
    if (!user || !user.passwordHash || !ok) throw new UnauthenticatedError('Invalid email or password');
    const token = generateToken();
    await inTransaction(em, async (tx) => {
      const now = this.clock.now();
      tx.create(AuthToken, { kind: TokenKind.SESSION, role: user.role, user: user.id, tokenHash: tokenHash(token), createdAt: now });
      // Logging in counts as activity for auto-logout.
      await tx.nativeUpdate(Operator, { user: user.id, deletedAt: null }, { lastActivityAt: now });
    });
    return { token, user };
  }

  /**
   * Ends the caller's session; an operator also goes OFFLINE, so their dialogs move on.
   * False when the caller holds no session (API or admin token).
   */
  async logout(em: EntityManager, viewer: Viewer): Promise<boolean> {
    const { tokenId, userId, operatorId } = viewer;
    if (tokenId === null || userId === null) return false;
    return inTransaction(em, async (tx) => {
      // Dialogs, then the operator, then sessions: the order auto-logout and deletion lock in,
      // so a logout racing them waits instead of deadlocking.
      const operator = operatorId !== null ? await this.operators.lockForOffline(tx, operatorId) : null;
      const ended = await endSessions(tx, this.events, userId, this.clock.now(), [tokenId]);
      if (ended.length > 0 && operator?.status === OperatorStatus.ONLINE) await this.operators.goOffline(tx, operator);
      return ended.length > 0;
    });
  }

  async createApiToken(em: EntityManager, name: string, role: Role): Promise<IssuedToken> {
    const validName = requiredName('name', name);
    if (!Object.values(Role).includes(role)) throw new BadInputError('role', 'Unknown role');
    const token = generateToken();
    const row = await inTransaction(em, async (tx) =>
      tx.create(AuthToken, {
        kind: TokenKind.API,
        name: validName,
        role,
        tokenHash: tokenHash(token),
        createdAt: this.clock.now(),
      }),
    );
    return { id: row.id, name: validName, role, token };
  }
}
